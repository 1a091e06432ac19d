"""The service's Prometheus metrics, and the bookkeeping that keeps them true when a worker is
killed.

BentoML runs each worker as a process of its own and passes it PROMETHEUS_MULTIPROC_DIR, where
prometheus_client keeps every process's values in files; /metrics adds them up. A worker that
exits cleanly has its "live" gauges removed (BentoML marks it dead). One that is killed (the
kernel's OOM killer, a crash) leaves them behind, and BentoML starts a replacement: the killed
worker's values would then count for ever (the workers gauge one too many; a ready gauge of 0
from a worker killed while loading would page ServeNotReady although every live worker is
ready). So each worker, when it starts, forgets the workers that no longer run."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram, multiprocess

from serve.limits import MAX_BATCH_ROWS

PROBABILITY = Histogram(
    name="flight_delay_probability",
    documentation="Predicted probability that a flight arrives more than 15 minutes late",
    buckets=tuple(i / 10 for i in range(1, 11)),
)
# Each worker's PSI over the last rows it scored, set only once it has scored a whole window
# (serve/drift.py): a value over a few rows would stay exported. "livemostrecent" exports the
# value a live worker set last (no pid label): the PSI of the latest window of traffic, whichever
# worker scored it. "livemax", the highest over the live workers, kept the last window of a
# worker that then got no traffic: drifted once, it held the drift alert on after the traffic
# the other workers scored was back to normal. New connections go to any worker, so each
# worker's window is a sample of the same traffic and the one scored last stands for it; pooling
# the windows would need state shared between the processes for what that sample already says.
# A killed worker's value is forgotten (forget_killed_workers), as it would keep the alert firing.
FEATURE_PSI = Gauge(
    name="flight_delay_feature_psi",
    documentation="Population stability index of each feature, recent requests vs. train split",
    labelnames=["feature"],
    multiprocess_mode="livemostrecent",
)
# How full the drift window of the worker that observed a batch last is: its PSI gauges appear
# once it holds WINDOW_ROWS rows (serve/drift.py), and this says how far off that is. Defined
# without labels, so its value, and with it this process's file of "livemostrecent" gauges, is
# made as the module loads: FEATURE_PSI's labelled values would otherwise create that file at the
# first full window, while a /metrics read may meet it empty (prometheus_client opens a file,
# then sizes it), fail, and, inside BentoML's request timeout, answer nothing for 30 s.
DRIFT_WINDOW_ROWS = Gauge(
    name="flight_delay_drift_window_rows",
    documentation="Rows in the drift window of the worker that observed a batch last",
    multiprocess_mode="livemostrecent",
)
# The PSI above which a feature has drifted, from the training statistics (params.yaml's
# monitor.psi_threshold): the drift alert and the dashboard compare FEATURE_PSI with it. Every
# worker loads the same file; "livemax" exports one value without a pid label, and a worker
# still loading (0) does not hide a loaded one.
PSI_THRESHOLD = Gauge(
    name="flight_delay_psi_threshold",
    documentation="PSI above which a feature has drifted (the training statistics' threshold)",
    multiprocess_mode="livemax",
)
# What /readyz says, as a metric Prometheus can alert on without probing: 1 once the model, the
# training statistics and the online store are loaded, else 0. One value per worker; "livemin"
# exports the lowest over the live workers (no pid label), so one worker not ready reads 0.
READY = Gauge(
    name="flight_delay_ready",
    documentation="1 when the model, the training statistics and the online store are loaded",
    multiprocess_mode="livemin",
)
# Workers that run: each sets 1 and "livesum" adds them up. READY covers only workers that have
# started, so every worker is ready when this is the number the server runs and READY is 1.
WORKERS = Gauge(
    name="flight_delay_workers",
    documentation="Workers of the service that have started and still run",
    multiprocess_mode="livesum",
)
# Workers that were killed rather than exiting (the OOM killer, a crash), counted once each by
# the worker that forgets them: BentoML replaces them silently, so only this tells.
KILLED_WORKERS = Counter(
    name="flight_delay_killed_workers",
    documentation="Workers found killed (not exited) by a worker starting after them",
)
# A scored batch is observed (its drift window, the probability and row histograms) after it is
# answered, so a failure there reaches no caller: without this count the drift gauges would
# keep their last values, and the drift check read them, with only a log line to say so.
OBSERVE_FAILURES = Counter(
    name="flight_delay_observe_failures",
    documentation="Scored batches whose drift and metrics update failed (logged with its error)",
)
LOAD_FAILURES = Counter(
    name="flight_delay_load_failures",
    documentation=(
        "Failed loads, by what failed: model, statistics, online_store, serving_data or unexpected"
    ),
    labelnames=["kind"],
)
# Requests whose fields are valid but whose flights the online store cannot score faithfully,
# by the `type` of the 400: a departure past its data horizon (ADR 0018), one whose trailing
# window starts before its data start (ADR 0018, amended), a destination it does not know, other
# feature input. BentoML counts them among every other 400, bad input included;
# only this tells the platform's refusals (a store gone stale) from a client's mistakes. Every
# reason starts at 0, so the first refusal is an increase (ServePastDataHorizon).
REFUSED_REQUESTS = Counter(
    name="flight_delay_refused_requests",
    documentation="Requests refused because the online store cannot score a flight, by reason",
    labelnames=["reason"],
)
REFUSAL_REASONS = ("past_data_horizon", "before_data_start", "unknown_airport", "feature_input")
for _reason in REFUSAL_REASONS:
    REFUSED_REQUESTS.labels(reason=_reason)
# The online store's earliest origin horizon (ADR 0018) as a Unix time: up to it plus the
# allowance, flights from every origin with weather in the store are scored (one its flights
# left from but it holds no weather of has no horizon, and is left out: every flight from it is
# refused), so the dashboard shows how far live traffic is from it; an origin whose weather
# stopped pulls it back. A worker still loading exports 0, so "livemax" reads a loaded one's.
DATA_HORIZON = Gauge(
    name="flight_delay_data_horizon_timestamp_seconds",
    documentation="Earliest data horizon of any origin in the online store, as a Unix time",
    multiprocess_mode="livemax",
)
# The origins the online store's flights left from but it holds no weather of (ADR 0018): none
# has a horizon, so DATA_HORIZON leaves them out, and every flight from them is refused. Only
# traffic from such an origin shows in the refusals; this shows the store itself, traffic or not.
ORIGINS_WITHOUT_WEATHER = Gauge(
    name="flight_delay_origins_without_weather",
    documentation="Origins the online store's flights left from but it holds no weather of",
    multiprocess_mode="livemax",
)
BATCH_ROWS = Histogram(
    name="flight_delay_batch_rows",
    documentation="Rows per model call (requests scored together)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, MAX_BATCH_ROWS),
)

# prometheus_client's file of one process's live gauges of one mode: gauge_livesum_<pid>.db.
_LIVE_GAUGES = re.compile(r"gauge_live[a-z]+_(?P<pid>[0-9]+)\.db")
# Where `bentoml serve` keeps PROMETHEUS_MULTIPROC_DIR: in its home, emptied whenever a server
# starts there.
MULTIPROC_DIR = "prometheus_multiproc_dir"
# Every worker has this one (WORKERS); the worker that removes it counts the killed one.
_WORKERS_FILE = "gauge_livesum_{pid}.db"
# Linux's /proc tells a zombie from a running process; a signal cannot.
_PROC = Path("/proc/self/stat").exists()


def running(pid: int) -> bool:
    """Whether process `pid` runs. A killed worker that the server has not reaped yet is a zombie:
    signals still reach its pid, but it has exited (BentoML may start its replacement first)."""
    if not _PROC:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # another user's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, it was read
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def forget_killed_workers(directory: str | None = None) -> list[int]:
    """Mark dead every process whose live gauges are in the multiprocess directory (`directory`,
    else PROMETHEUS_MULTIPROC_DIR) but which no longer runs, count it in KILLED_WORKERS, and
    return their pids, ascending. Outside BentoML's multiprocess mode (no directory) there is
    nothing to forget. Counters and histograms stay: a killed worker's requests were served."""
    directory = directory or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory or not Path(directory).is_dir():
        return []
    killed = sorted(pid for pid in _worker_pids(directory) if not running(pid))
    for pid in killed:
        # Workers start side by side and may both find the same killed one: only the one whose
        # removal of its workers file succeeds counts it.
        with contextlib.suppress(FileNotFoundError):
            os.remove(Path(directory) / _WORKERS_FILE.format(pid=pid))
            KILLED_WORKERS.inc()
        with contextlib.suppress(FileNotFoundError):
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    return killed


def _worker_pids(directory: str | Path) -> set[int]:
    """The processes whose live gauges are in the multiprocess directory `directory`."""
    return {
        int(match["pid"])
        for name in os.listdir(directory)
        if (match := _LIVE_GAUGES.fullmatch(name))
    }


def running_workers(home: str | Path) -> list[int]:
    """The pids, ascending, of the running workers of a server on the BentoML home `home`: a
    server started on the same home would empty their multiprocess directory, and the running
    server's /metrics would lose its counts and read its gauges as unset (ready 0: a false
    ServeNotReady)."""
    directory = Path(home) / MULTIPROC_DIR
    if not directory.is_dir():
        return []
    return sorted(pid for pid in _worker_pids(directory) if running(pid))
