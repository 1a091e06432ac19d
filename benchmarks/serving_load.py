"""Load benchmark of `POST /predict` on loopback, against two limits measured in the same run.

    ./pants run benchmarks/serving_load.py -- --runs 3 --output build/benchmarks/serving.json
    ./pants run benchmarks/serving_load.py -- --quick      # a few seconds, any figures

Each run measures, on the same model and online store (found as the service finds them:
BENTOML_HOME, FLIGHT_DELAY_SERVING_DATA):

- in-process: validated flights through features and the model, no HTTP (`score_flights`), for
  one flight (latency) and 100-flight batches (flights/s);
- bare: benchmarks/bare_asgi.py (Starlette on uvicorn) doing that work;
- bentoml: the service (`bentoml serve`, the source service or `--bento TAG`).

Both servers run `--workers` worker processes (default: one per core): the bare one by its own
flag, the service through BentoML's configuration (BENTOML_CONFIG_OPTIONS), over the
`workers="cpu_count"` of serve/service.py.

Over HTTP, an asyncio client on raw sockets (one keep-alive connection per concurrent client,
each sending its next request when the last is answered) measures throughput and latency
percentiles for single-flight and 100-flight requests at several concurrency levels. The
request flights are drawn from the online store's last day of weather up to its data horizon
(live traffic asks about flights leaving about now; later ones are refused), with tail numbers,
carriers and destinations the store knows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks import REPO, arguments
from benchmarks.bare_asgi import load_promoted, promoted, score_flights
from benchmarks.report import REPORTS, markdown_table, save, save_or_refuse, stamped
from feature_definitions.calendar import LOCAL_TIMEZONE
from loopback.processes import answers_200, inherited_pythonpath, start_server, stop
from online_store.store import OnlineStore
from serve.schema import Flight
from serve.sources import fetch, location, wait_seconds

SIZES = (1, 100)
CONCURRENCY = {1: (1, 4, 16, 32), 100: (1, 4, 16)}
QUICK_CONCURRENCY = {1: (1, 4), 100: (1,)}
PERCENTILES = (50, 95, 99)
# In the checkout `./pants run` runs this from: REPO is its sources' sandbox there. A --quick
# run's report goes beside it, so a check of the benchmark does not replace a measurement.
OUTPUT = REPORTS.relative_to(REPO) / "serving_load.json"
QUICK_OUTPUT = OUTPUT.with_name("serving_load-quick.json")
# The service's name in BentoML's configuration: its class's (serve/service.py), which a Bento
# built from it keeps.
SERVICE_NAME = "FlightDelayService"
SOURCE_SERVICE = f"serve.service:{SERVICE_NAME}"
BENTOML_OPTIONS = "BENTOML_CONFIG_OPTIONS"


# --- Request flights ---------------------------------------------------------------------


def sample_flights(store: Path, count: int, seed: int = 0) -> list[dict[str, Any]]:
    """`count` valid request flights leaving on the store's last day with weather up to its
    data horizon (later ones the service refuses)."""
    rng = random.Random(seed)
    horizon = int(OnlineStore(store).horizon.value)
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        last = db.execute(
            "SELECT max(time_hour) FROM weather WHERE time_hour <= ?", (horizon,)
        ).fetchone()[0]
        hours = db.execute(
            "SELECT origin, time_hour FROM weather WHERE time_hour > ? AND time_hour <= ? "
            "ORDER BY 1, 2",
            (last - 24 * 3600 * 10**9, last),
        ).fetchall()
        tailnums = [r[0] for r in db.execute("SELECT tailnum FROM planes ORDER BY 1")]
        carriers = [r[0] for r in db.execute("SELECT DISTINCT carrier FROM events ORDER BY 1")]
        dests = [r[0] for r in db.execute("SELECT faa FROM airports ORDER BY 1")]
    tailnums = [t for t in tailnums if re.fullmatch(r"[A-Z0-9]{1,8}", t)]
    dests = [d for d in dests if re.fullmatch(r"[A-Z]{3}", d)]
    flights = []
    for number in range(count):
        origin, hour_ns = rng.choice(hours)
        hour = datetime.fromtimestamp(hour_ns // 10**9, UTC)
        local = hour.astimezone(ZoneInfo(LOCAL_TIMEZONE))
        minute = rng.randrange(60)
        flights.append(
            {
                "carrier": rng.choice(carriers),
                "flight": 1 + number % 9999,
                "tailnum": rng.choice([*tailnums, None]),
                "origin": origin,
                "dest": rng.choice(dests),
                "time_hour": hour.isoformat(),
                "sched_dep_time": local.hour * 100 + minute,
                "sched_arr_time": (local.hour + 2) % 24 * 100 + minute,
                "distance": float(rng.randrange(100, 2600)),
            }
        )
    return flights


# --- In-process limit ----------------------------------------------------------------------


def in_process(flights: list[dict[str, Any]], seconds: float) -> dict[str, float]:
    """Latency of one flight and throughput of 100-flight batches through score_flights."""
    _, loaded = load_promoted()
    validated = [Flight.model_validate(f) for f in flights]

    def repeat(size: int) -> list[float]:
        times: list[float] = []
        deadline, start = time.perf_counter() + seconds, 0
        while time.perf_counter() < deadline or len(times) < 3:
            batch = validated[start : start + size]
            start = (start + size) % (len(validated) - size)
            began = time.perf_counter()
            score_flights(batch, loaded)
            times.append(time.perf_counter() - began)
        return times

    repeat(1)  # warm-up: first calls fill caches
    one = repeat(1)
    hundred = repeat(100)
    return {
        "one_flight_ms": statistics.median(one) * 1000,
        "batch_100_ms": statistics.median(hundred) * 1000,
        "batch_100_flights_per_s": 100 / statistics.median(hundred),
    }


# --- Load generator ------------------------------------------------------------------------


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _connect(port: int, body: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A keep-alive connection that has had one request answered. Opened one at a time, so the
    server's workers share them: opened together, nearly all land on one worker, whose accept
    loop takes the whole backlog in one wake-up (measured: 16 of 16 connections on one of two
    workers in most tries, for both servers), and a two-worker server is measured as one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await _request(reader, writer, _post(body))
    return reader, writer


def _post(body: bytes) -> bytes:
    return (
        b"POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )


async def _load(
    port: int, bodies: list[bytes], concurrency: int, seconds: float, warmup: float
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connections = [await _connect(port, bodies[i % len(bodies)]) for i in range(concurrency)]
    begin = time.perf_counter()
    measure_from, stop_at = begin + warmup, begin + warmup + seconds

    async def client(index: int) -> None:
        reader, writer = connections[index]
        i = index
        try:
            while (now := time.perf_counter()) < stop_at:
                body = bodies[i % len(bodies)]
                i += concurrency
                status = await _request(reader, writer, _post(body))
                if now >= measure_from:
                    latencies.append(time.perf_counter() - now)
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - measure_from
    ok = statuses.get(200, 0)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "concurrency": concurrency,
        "requests_per_s": ok / elapsed,
        **{f"p{p}_ms": cuts[p - 1] * 1000 for p in PERCENTILES},
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def load_levels(
    port: int,
    flights: list[dict[str, Any]],
    concurrency: Mapping[int, Sequence[int]],
    seconds: float,
) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {}
    # /readyz answered from one worker; the others may still be loading. Load every worker
    # (and its caches) before measuring anything.
    warm = [json.dumps({"flights": [flight]}).encode() for flight in flights[:100]]
    asyncio.run(_load(port, warm, 4, min(5.0, seconds), warmup=0))
    for size in SIZES:
        bodies = [
            json.dumps({"flights": flights[i : i + size]}).encode()
            for i in range(0, len(flights) - size + 1, size)
        ]
        results[str(size)] = [
            asyncio.run(_load(port, bodies, c, seconds, warmup=min(1.0, seconds / 2)))
            for c in concurrency[size]
        ]
    return results


# --- Servers -------------------------------------------------------------------------------


@contextmanager
def server(
    command: list[str], log: Path, extra_env: Mapping[str, str], timeout: float = 300
) -> Iterator[int]:
    """Run `command` with --host/--port on a free loopback port, in this environment plus
    `extra_env`, until /readyz answers 200."""
    env = {
        **os.environ,
        **extra_env,
        # The servers import this checkout's code, as this process does.
        "PYTHONPATH": inherited_pythonpath(),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    process, port = start_server(
        lambda port: [*command, "--host", "127.0.0.1", "--port", str(port)],
        started=lambda _, port: answers_200(f"http://127.0.0.1:{port}/readyz"),
        what=" ".join(command),
        log=log,
        timeout=timeout,
        env=env,
    )
    try:
        yield port
    finally:
        stop(process)


def bare_command(workers: int) -> list[str]:
    return [sys.executable, "-m", "benchmarks.bare_asgi", "--workers", str(workers)]


def bentoml_command(target: str) -> list[str]:
    return [sys.executable, "-m", "bentoml", "serve", target]


def bentoml_env(workers: int, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """BentoML's options with the service's worker count set to `workers`, after any options
    `environ` gives: BentoML takes the last setting of a key, and these options over its
    configuration file and the service's decorator."""
    options = [environ.get(BENTOML_OPTIONS, ""), f"services.{SERVICE_NAME}.workers={workers}"]
    return {BENTOML_OPTIONS: " ".join(filter(None, options))}


def servers(workers: int, target: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each server's command and the environment it adds, both with `workers` workers: a
    comparison of unequal worker counts would say nothing about the servers."""
    return {
        "bare": (bare_command(workers), {}),
        "bentoml": (bentoml_command(target), bentoml_env(workers)),
    }


# --- Report --------------------------------------------------------------------------------


def _median_levels(runs: list[dict[str, Any]], server_name: str) -> dict[str, list[dict[str, Any]]]:
    first = runs[0][server_name]
    medians: dict[str, list[dict[str, Any]]] = {}
    for size, levels in first.items():
        medians[size] = []
        for i, level in enumerate(levels):
            row: dict[str, Any] = {"concurrency": level["concurrency"]}
            for key in ("requests_per_s", *(f"p{p}_ms" for p in PERCENTILES)):
                row[key] = statistics.median(run[server_name][size][i][key] for run in runs)
            row["errors"] = sum(
                n
                for run in runs
                for status, n in run[server_name][size][i]["statuses"].items()
                if status != "200"
            )
            medians[size].append(row)
    return medians


def _peaks(levels: Mapping[str, list[dict[str, Any]]]) -> dict[str, float]:
    """The most requests/s of any concurrency level, per request size."""
    return {size: max(r["requests_per_s"] for r in rows) for size, rows in levels.items()}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The medians over `runs`. The ratio of BentoML's peak to the bare server's is taken
    within each run, where the two servers ran a minute or two apart, and the median of those
    reported: a shared machine's speed moves from run to run, which a ratio of medians taken
    from different runs would carry. `peaks` are the peaks of the median levels (so
    peaks["bentoml"] / peaks["bare"] is the ratio as reported until 2026-12-06)."""
    limit = {
        key: statistics.median(run["in_process"][key] for run in runs)
        for key in runs[0]["in_process"]
    }
    medians = {name: _median_levels(runs, name) for name in ("bare", "bentoml")}
    peaks = {name: _peaks(levels) for name, levels in medians.items()}
    per_run = []
    for run in runs:
        bare, bentoml = _peaks(run["bare"]), _peaks(run["bentoml"])
        per_run.append({size: bentoml[size] / bare[size] for size in bare})
    ratios = {size: statistics.median(run[size] for run in per_run) for size in per_run[0]}
    return {
        "in_process": limit,
        "servers": medians,
        "peaks": peaks,
        "bentoml_over_bare": ratios,
        "bentoml_over_bare_per_run": per_run,
    }


def markdown(result: dict[str, Any]) -> str:
    columns = ["server", "flights per request", "concurrency", "requests/s", "flights/s",
               "p50 (ms)", "p95 (ms)", "p99 (ms)", "non-200"]  # fmt: skip
    rows = (
        [name, size, row["concurrency"], f"{row['requests_per_s']:.1f}",
         f"{row['requests_per_s'] * int(size):.0f}", f"{row['p50_ms']:.1f}",
         f"{row['p95_ms']:.1f}", f"{row['p99_ms']:.1f}", row["errors"]]
        for name, levels in result["summary"]["servers"].items()
        for size, size_rows in levels.items()
        for row in size_rows
    )  # fmt: skip
    return markdown_table(columns, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=arguments.count, default=3)
    parser.add_argument(
        "--seconds", type=arguments.seconds, default=10, help="per concurrency level"
    )
    parser.add_argument("--bento", default=SOURCE_SERVICE)
    parser.add_argument(
        "--workers",
        type=arguments.count,
        default=os.cpu_count() or 1,
        help="worker processes of each server (default: one per core)",
    )
    parser.add_argument(
        "--output",
        type=arguments.report_file,
        help=f"the report (default: {OUTPUT}, or {QUICK_OUTPUT} with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="one short run, few levels")
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = QUICK_OUTPUT if args.quick else OUTPUT
    runs, seconds, concurrency = args.runs, args.seconds, CONCURRENCY
    if args.quick:
        runs, seconds, concurrency = 1, 1.0, QUICK_CONCURRENCY
    results: list[dict[str, Any]] = []

    def report() -> dict[str, Any]:
        return stamped(
            command=" ".join(["benchmarks/serving_load.py", *(argv or sys.argv[1:])]),
            target=args.bento,
            workers=args.workers,
            seconds_per_level=seconds,
            runs=results,
        )

    # Saved before any work, so an --output that cannot take the report is refused before
    # minutes of runs, and again after each run, so a failed run keeps the earlier ones.
    save_or_refuse(report(), args.output, parser)
    _, served = promoted()
    flights = sample_flights(fetch(location(served), wait_seconds()).online_store, 2000)
    with tempfile.TemporaryDirectory(prefix="serving-load-") as logs:
        for run in range(runs):
            result: dict[str, Any] = {"in_process": in_process(flights, seconds)}
            for name, (command, env) in servers(args.workers, args.bento).items():
                with server(command, Path(logs) / f"{name}-{run}.log", env) as port:
                    result[name] = load_levels(port, flights, concurrency, seconds)
            print(f"run {run + 1}: {json.dumps(result)}", flush=True)
            results.append(result)
            save(report(), args.output)
    final = {**report(), "summary": summary(results)}
    final["table"] = markdown(final)
    save(final, args.output)
    print(final["table"])
    print(
        json.dumps({k: final["summary"][k] for k in ("in_process", "peaks", "bentoml_over_bare")})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
