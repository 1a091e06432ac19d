"""Start of the serve artifact's server: seconds until /readyz answers 200, and the memory its
processes hold then, against the bare ASGI server (benchmarks/bare_asgi.py: the same model and
online store, as many workers, no BentoML) started the same way in the same run.

    ./pants package services/serve:serve
    ./pants run benchmarks/serve_start.py -- --runs 5 --output build/benchmarks/serve_start.json

Both serve the promoted model, found as the service finds it (BENTOML_HOME,
FLIGHT_DELAY_SERVING_DATA). `--artifact` adds another build of the serve PEX (an older commit's,
to compare). The servers start in turn within each run, so a machine that slows down slows all
of them. Memory is the proportional set size (PSS) summed over the server's processes: a page
the forked workers share counts once in all, not once per process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import REPO, arguments
from benchmarks.report import REPORTS, markdown_table, repeated_runs
from benchmarks.serving_load import bare_command
from loopback.processes import (
    answers_200,
    children,
    inherited_pythonpath,
    start_server,
    stop,
    wait_until,
    without_pex_variables,
)

# In the checkout `./pants run` runs this from (its sources are in a sandbox, with REPO).
ARTIFACT = Path("dist", "services.serve", "serve.pex")
OUTPUT = REPORTS.relative_to(REPO) / "serve_start.json"
BARE = "bare"


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it that has not exited."""
    below = [pid]
    for child in children(pid):
        below.extend(process_tree(child))
    return below


def pss_kib(smaps_rollup: str) -> int:
    """The Pss line of a /proc/<pid>/smaps_rollup text, in KiB."""
    for line in smaps_rollup.splitlines():
        key, _, value = line.partition(":")
        if key == "Pss":
            return int(value.split()[0])
    raise ValueError("no Pss line: not a smaps_rollup text")


def memory_mib(pids: Sequence[int]) -> float:
    """The PSS of `pids` together, in MiB; a process that has exited counts nothing."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if text:  # empty for a process that has exited but is not yet reaped
            total += pss_kib(text)
    return total / 1024


def start_once(command: Sequence[str], log: Path, env: dict[str, str]) -> dict[str, Any]:
    """Start `command --host 127.0.0.1 --port P` (start_server: a start that finds its port
    taken starts again, and counts both); the seconds until /readyz answers 200, and the
    processes and memory of the server then. Stopped, all its processes gone, on return."""
    started = time.perf_counter()
    process, port = start_server(
        lambda port: [*command, "--host", "127.0.0.1", "--port", str(port)],
        started=lambda _, port: answers_200(f"http://127.0.0.1:{port}/readyz"),
        what=" ".join(command),
        log=log,
        timeout=300,
        env=env,
        interval=0.05,
    )
    seconds = time.perf_counter() - started
    pids = process_tree(process.pid)
    try:
        return {"seconds": seconds, "processes": len(pids), "memory_mib": memory_mib(pids)}
    finally:
        stop(process)
        # The next start must not share the machine with this server's last workers.
        wait_until(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids),
            what="the server's processes gone",
            timeout=60,
        )


def summary(runs: Sequence[dict[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per server, the medians over `runs` of its start seconds and memory, and each as a ratio
    to the bare server's medians."""
    medians = {
        name: {
            key: statistics.median(run[name][key] for run in runs)
            for key in ("seconds", "memory_mib")
        }
        for name in runs[0]
    }
    for figures in medians.values():
        figures["seconds_over_bare"] = figures["seconds"] / medians[BARE]["seconds"]
        figures["memory_over_bare"] = figures["memory_mib"] / medians[BARE]["memory_mib"]
    return medians


def markdown(medians: dict[str, dict[str, float]]) -> str:
    columns = ["server", "ready after (s, median)", "÷ bare", "memory, PSS (MiB, median)", "÷ bare"]
    rows = (
        [name, f"{f['seconds']:.2f}", f"{f['seconds_over_bare']:.2f}", f"{f['memory_mib']:.0f}",
         f"{f['memory_over_bare']:.2f}"]
        for name, f in medians.items()
    )  # fmt: skip
    return markdown_table(columns, rows)


def built_artifact(text: str) -> Path:
    """An argparse type: a built serve PEX."""
    return arguments.built_pex(text, "./pants package services/serve:serve")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=arguments.count, default=5)
    parser.add_argument("--artifact", type=built_artifact, action="append", default=[])
    parser.add_argument(
        "--output",
        type=arguments.report_file,
        default=OUTPUT,
        help=f"the report (default: {OUTPUT})",
    )
    args = parser.parse_args(argv)
    try:
        artifacts = [built_artifact(str(ARTIFACT)), *args.artifact]
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))

    # What a shell gives the servers: not the variables of the PEX `./pants run` runs this from
    # (its PEX root and import path: the artifact started 2 s slower on them).
    env = {**without_pex_variables(), "BENTOML_DO_NOT_TRACK": "true"}
    servers: dict[str, tuple[list[str], dict[str, str]]] = {
        # As the DVC stages and the tests run an artifact: its own __main__.py.
        **{str(path): ([str(path / "__main__.py"), "serve"], env) for path in artifacts},
        # The bare server imports this checkout's code, as this process does.
        BARE: (bare_command(os.cpu_count() or 1), {**env, "PYTHONPATH": inherited_pythonpath()}),
    }
    with tempfile.TemporaryDirectory(prefix="serve-start-") as logs:

        def one_run(run: int) -> dict[str, dict[str, Any]]:
            measured = {}
            for i, (name, (command, server_env)) in enumerate(servers.items()):
                measured[name] = start_once(command, Path(logs, f"{i}.log"), server_env)
                print(f"run {run}, {name}: {measured[name]}", flush=True)
            return measured

        medians = repeated_runs(args.runs, one_run, summary, args.output, parser)
    print(markdown(medians))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
