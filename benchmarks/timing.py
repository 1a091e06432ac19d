"""The measurements the benchmarks here make of a whole command: its wall time, and its peak
resident memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmarks import REPO


def timed(
    command: Sequence[str], *, cwd: Path = REPO, env: Mapping[str, str] | None = None
) -> tuple[float, str]:
    """Wall time and stdout of `command` (run from the repo root by default); a command that
    fails stops the benchmark with its output, never a time."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return elapsed, done.stdout


# Run in a fresh interpreter, so that the peak is this command's alone: RUSAGE_CHILDREN reports
# the largest of all the children a process has waited for.
_PEAK_RSS = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"seconds": time.perf_counter() - start, "returncode": done.returncode,
                  "stdout": done.stdout, "stderr": done.stderr,
                  "kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def peak_rss(
    command: Sequence[str], *, cwd: Path = REPO, env: Mapping[str, str] | None = None
) -> tuple[float, float, str]:
    """Peak resident memory (MiB) of `command` and of the processes it waited for, its wall
    time and stdout; a command that fails stops the benchmark with its output."""
    wrapper = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *command],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    done = json.loads(wrapper.stdout)
    if done["returncode"] != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{done['stdout'][-3000:]}{done['stderr'][-3000:]}"
        )
    return done["kib"] / 1024, done["seconds"], done["stdout"]
