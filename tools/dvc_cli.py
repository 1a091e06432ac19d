"""The repo's DVC: DVC's own command line, which first checks the services' artifacts before
any command that runs stages.

`dvc repro`, `dvc exp run` and `dvc queue start` run the PEXes under dist/ (dvc.yaml), and DVC
hashes only those PEXes, so a PEX built before the code changed would be taken as up to date.
This entry point runs tools/artifacts.py's check first and stops, with the `./pants package` to
run, when one is missing or stale; every other command (status, push, pull, metrics, ...) goes
straight to DVC. The check runs in this process, not as a pipeline stage, so a no-op repro starts
no stage and `dvc status` of an up-to-date pipeline is empty (ADR 0011).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from dvc.cli import main as dvc_main

from tools.artifacts import ArtifactError, check_all, up_to_date

# DVC's commands that run stages, as the words that name them (`exp` is an alias DVC gives
# `experiments`; `queue start` runs the experiments `exp run --queue` queued, whose artifacts may
# have been rebuilt, or gone stale, since they were queued).
STAGE_RUNNING = (("repro",), ("exp", "run"), ("experiments", "run"), ("queue", "start"))


def stage_running_root(argv: Sequence[str], cwd: Path) -> Path | None:
    """The repo root the command works in, if `argv` runs stages; else None. Follows DVC's
    `--cd DIR`; the root is the nearest directory up from there with a dvc.yaml beside .dvc."""
    words: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--cd":
            cwd = cwd / next(args, "")
        elif arg.startswith("--cd="):
            cwd = cwd / arg.removeprefix("--cd=")
        elif not arg.startswith("-"):
            words.append(arg)
    if not any(tuple(words[: len(command)]) == command for command in STAGE_RUNNING):
        return None
    for directory in (cwd.resolve(), *cwd.resolve().parents):
        if (directory / "dvc.yaml").is_file() and (directory / ".dvc").is_dir():
            return directory
    return None  # not in a DVC repo: DVC itself says so


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    root = stage_running_root(args, Path.cwd())
    if root is not None:
        try:
            checked = check_all(root)
        except ArtifactError as problem:
            print(f"artifacts: {problem}", file=sys.stderr)
            return 1
        print(up_to_date(checked), file=sys.stderr)
    return int(dvc_main(args))


if __name__ == "__main__":
    sys.exit(main())
