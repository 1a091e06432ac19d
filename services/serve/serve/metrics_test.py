"""The metrics as BentoML's /metrics adds them up over worker processes, with real processes
writing to a multiprocess directory: a killed worker's gauges are forgotten, its counts kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

from loopback.processes import inherited_pythonpath
from serve.metrics import forget_killed_workers, running

# One worker's part: what the service sets at start, a failed load counted, and then it waits
# to be killed.
WORKER = """
import sys
from serve.metrics import FEATURE_PSI, LOAD_FAILURES, READY, WORKERS
WORKERS.set(1)
READY.set(float(sys.argv[1]))
FEATURE_PSI.labels(feature="distance").set(float(sys.argv[2]))
LOAD_FAILURES.labels(kind="model").inc()
print("set", flush=True)
sys.stdin.read()
"""


def worker_env(directory: Path) -> dict[str, str]:
    """The environment of a worker process writing to the multiprocess directory `directory`."""
    return {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "PYTHONPATH": inherited_pythonpath(),
    }


@contextmanager
def worker(directory: Path, ready: float, psi: float = 0.0) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(ready), str(psi)],
        env=worker_env(directory),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "set\n"
        yield process
    finally:
        process.kill()
        process.wait()


# A worker that loads the metrics, lists its files, sets the labelled metrics the service sets
# as it serves (an unlabelled one has its value, and file, as the module loads), and lists them
# again.
LATE_VALUES = """
import json, os
from serve.metrics import FEATURE_PSI, LOAD_FAILURES, REFUSED_REQUESTS
directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
print(json.dumps(sorted(os.listdir(directory))))
FEATURE_PSI.labels(feature="distance").set(0.5)
LOAD_FAILURES.labels(kind="model").inc()
REFUSED_REQUESTS.labels(reason="unknown_airport").inc()
print(json.dumps(sorted(os.listdir(directory))))
"""


def kill(process: subprocess.Popen[str]) -> int:
    """SIGKILL, as the OOM killer does: nothing of the process's own runs."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return process.pid


def scrape(directory: Path) -> dict[str, float]:
    """The samples /metrics would show, by name and labels."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    samples = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def killed_workers_counted() -> float:
    """This process's KILLED_WORKERS (the test forgets as a starting worker would)."""
    value = REGISTRY.get_sample_value("flight_delay_killed_workers_total")
    assert value is not None
    return value


def test_a_killed_workers_gauges_are_forgotten_and_its_counts_kept(tmp_path: Path) -> None:
    psi = 'flight_delay_feature_psi{feature="distance"}'
    with (
        worker(tmp_path, ready=1, psi=0.1) as live,
        worker(tmp_path, ready=0, psi=0.9) as loading,
    ):
        killed = kill(loading)
        before = scrape(tmp_path)
        # The killed worker still counts: two workers, one of them not ready, its drift seen.
        assert before["flight_delay_workers"] == 2 and before["flight_delay_ready"] == 0
        assert before[psi] == 0.9
        counted = killed_workers_counted()
        assert forget_killed_workers(str(tmp_path)) == [killed]
        assert killed_workers_counted() == counted + 1
        after = scrape(tmp_path)
        assert after["flight_delay_workers"] == 1 and after["flight_delay_ready"] == 1
        # A killed worker's PSI, the most recent, would keep the drift alert firing.
        assert after[psi] == 0.1
        assert after['flight_delay_load_failures_total{kind="model"}'] == 2
        assert running(live.pid)
        # Nothing left to forget, or to count.
        assert forget_killed_workers(str(tmp_path)) == []
        assert killed_workers_counted() == counted + 1


def test_the_psi_is_the_one_a_live_worker_set_last_not_an_idle_workers_higher_one(
    tmp_path: Path,
) -> None:
    # "livemax" exported the idle worker's 0.9 until it scored again: the drift alert stayed
    # on while the worker that took the traffic reported it back to normal.
    psi = 'flight_delay_feature_psi{feature="distance"}'
    with worker(tmp_path, ready=1, psi=0.9), worker(tmp_path, ready=1, psi=0.05):
        assert scrape(tmp_path)[psi] == 0.05


def test_a_killed_worker_another_worker_forgot_first_is_not_counted_twice(
    tmp_path: Path,
) -> None:
    with worker(tmp_path, ready=0) as loading:
        killed = kill(loading)
    # Another starting worker removed the workers file and counted it; its other gauges remain.
    (tmp_path / f"gauge_livesum_{killed}.db").unlink()
    counted = killed_workers_counted()
    assert forget_killed_workers(str(tmp_path)) == [killed]
    assert killed_workers_counted() == counted
    assert scrape(tmp_path).get("flight_delay_ready") is None  # its ready gauge forgotten too


def test_a_killed_worker_not_yet_reaped_is_forgotten(tmp_path: Path) -> None:
    """Its replacement may start before the server reaps it: a zombie counts as killed."""
    with worker(tmp_path, ready=0) as loading:
        os.kill(loading.pid, signal.SIGKILL)
        os.waitid(os.P_PID, loading.pid, os.WEXITED | os.WNOWAIT)  # exited, still unreaped
        assert not running(loading.pid)
        counted = killed_workers_counted()
        assert forget_killed_workers(str(tmp_path)) == [loading.pid]
        assert killed_workers_counted() == counted + 1
        assert scrape(tmp_path).get("flight_delay_ready") is None


def test_a_worker_makes_every_metrics_file_as_it_loads(tmp_path: Path) -> None:
    """/metrics reads every process's files; prometheus_client creates one empty, then sizes it,
    and a read in between fails (BentoML's /metrics then answered nothing for 30 s, then 500).
    Made as the worker loads, before it is ready, no file is new once it serves: the drift
    gauges' file was made at its first full window, while /metrics was being scraped."""
    run = subprocess.run(
        [sys.executable, "-c", LATE_VALUES],
        env=worker_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    loaded, serving = (json.loads(line) for line in run.stdout.splitlines())
    assert serving == loaded
    kinds = {name.rsplit("_", 1)[0] for name in loaded}  # counter_<pid>.db, gauge_livemax_<pid>.db
    assert {"counter", "histogram", "gauge_livemostrecent"} <= kinds, kinds


@settings(max_examples=6)
@given(ready=st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=3), data=st.data())
def test_the_gauges_cover_exactly_the_workers_that_run(
    ready: list[float], data: st.DataObject
) -> None:
    killed = data.draw(st.lists(st.booleans(), min_size=len(ready), max_size=len(ready)))
    if all(killed):
        killed[0] = False
    with tempfile.TemporaryDirectory() as name, ExitStack() as stack:
        directory = Path(name)
        processes = [stack.enter_context(worker(directory, r)) for r in ready]
        pids = sorted(kill(p) for p, dead in zip(processes, killed, strict=True) if dead)
        counted = killed_workers_counted()
        assert forget_killed_workers(str(directory)) == pids
        assert killed_workers_counted() == counted + len(pids)
        alive = [r for r, dead in zip(ready, killed, strict=True) if not dead]
        samples = scrape(directory)
        assert samples["flight_delay_workers"] == len(alive)
        assert samples["flight_delay_ready"] == min(alive)
        assert samples['flight_delay_load_failures_total{kind="model"}'] == len(ready)


def test_outside_multiprocess_mode_there_is_nothing_to_forget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert forget_killed_workers() == []
    assert forget_killed_workers(str(tmp_path / "missing")) == []
    assert forget_killed_workers(str(tmp_path)) == []


def test_a_process_that_runs_is_running_and_a_reaped_one_is_not() -> None:
    assert running(os.getpid())
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert not running(process.pid)
