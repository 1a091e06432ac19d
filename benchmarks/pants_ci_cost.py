"""What CI costs in the monorepo: cold full test run, warm no-op, and a one-line service change.

Run from the repo root with Python 3.11+ (standard library only):

    python3 benchmarks/pants_ci_cost.py --runs 3

Each run works in a fresh clone of HEAD with empty Pants caches of its own (store, named
caches and workdir), so "cold" means what a new CI machine sees: only the launcher's bootstrap
cache, which the first `./pants` of a machine builds once, is shared. Prints a Markdown table
of medians and writes every timing to build/benchmarks/pants_ci_cost.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHANGED_FILE = "services/train/train/baseline.py"


def timed(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    print(f"  {elapsed:7.1f}s  {' '.join(command)}", flush=True)
    return elapsed


def stop_pantsd(clone: Path) -> None:
    """Pants 2.17 has no command for it: signal the pid it records under .pids/."""
    for pid_file in clone.glob(".pids/*/pantsd/pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def one_run(scratch: Path) -> dict[str, float]:
    clone = scratch / "clone"
    git(scratch, "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone))
    env = {
        **os.environ,
        "PANTS_LOCAL_STORE_DIR": str(scratch / "store"),
        "PANTS_NAMED_CACHES_DIR": str(scratch / "named_caches"),
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    no_daemon = ["./pants", "--no-pantsd"]
    timings = {
        "launcher_overhead": statistics.median(
            timed(["./pants"], clone, {**env, "PANTS_BOOTSTRAP_ONLY": "1"}) for _ in range(5)
        ),
        "cold_full_test": timed([*no_daemon, "test", "::"], clone, env),
        "warm_noop_test_no_daemon": timed([*no_daemon, "test", "::"], clone, env),
    }
    # With the daemon, as on a developer's machine: the first run starts it, the second is timed.
    timed(["./pants", "test", "::"], clone, env)
    timings["warm_noop_test_daemon"] = timed(["./pants", "test", "::"], clone, env)
    stop_pantsd(clone)

    with open(clone / CHANGED_FILE, "a") as changed:
        changed.write("\n# a one-line change\n")
    git(clone, "commit", "--quiet", "-am", "one-line change")
    changed_since = ["--changed-since=HEAD~1", "--changed-dependents=transitive", "test"]
    timings["one_service_change_test"] = timed([*no_daemon, *changed_since], clone, env)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of")
    args = parser.parse_args()

    runs = []
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="pants-ci-cost-") as scratch:
            runs.append(one_run(Path(scratch)))
        print(f"run {number}: " + ", ".join(f"{k}={v:.1f}s" for k, v in runs[-1].items()))

    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "runs": runs,
        "medians": medians,
    }
    out = REPO / "build" / "benchmarks" / "pants_ci_cost.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))

    cold = medians["cold_full_test"]
    print(f"\n{report['date']}, commit {commit}, {report['machine']}, median of {args.runs}\n")
    print("| case | median (s) | vs cold full |")
    print("| --- | ---: | ---: |")
    for key, value in medians.items():
        print(f"| {key} | {value:.1f} | {cold / value:.1f}x |")


if __name__ == "__main__":
    main()
