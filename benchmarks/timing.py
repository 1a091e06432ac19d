"""The measurement every benchmark here makes: the wall time of a whole command."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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
