"""The repo's DVC: DVC's own command line, which first checks the services' artifacts before
any command that runs stages.

`dvc repro`, `dvc exp run` and `dvc stage add --run` run the PEXes under dist/ (dvc.yaml), and
DVC hashes only those PEXes, so a PEX built before the code changed would be taken as up to
date. This entry point runs tools/artifacts.py's check of the PEXes dvc.yaml names first and
stops, with the `./pants package` to run, when one is missing or stale (a stage added with
`--run` is not in dvc.yaml yet: its PEX is checked only if another stage runs it too); every
other command (status, push, pull, metrics, ...) goes straight to DVC.
The check runs in this process, not as a pipeline stage, so a no-op repro starts no stage and
`dvc status` of an up-to-date pipeline is empty (ADR 0011).

Experiments DVC runs outside the workspace (`exp run --temp`, `--run-all`, `--queue` and then
`queue start`) are refused: DVC runs them in a copy of the git checkout, which has none of the
PEXes (dist/ is built, not committed), so every stage would fail.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import sys
from argparse import Namespace
from collections.abc import Iterator, Sequence
from pathlib import Path

from dvc.cli import DvcParserError, parse_args
from dvc.cli import main as dvc_main
from dvc.commands.experiments.run import CmdExperimentsRun
from dvc.commands.queue.start import CmdQueueStart
from dvc.commands.repro import CmdRepro
from dvc.commands.stage import CmdStageAdd

from tools.artifacts import ArtifactError, check_all, up_to_date

OUTSIDE_THE_WORKSPACE = (
    "DVC runs those in a temporary copy of the git checkout, which has none of the services' PEXes "
    "(dist/ is built, not committed), so every stage would fail on a missing PEX; run "
    "`dvc exp run` in the workspace instead (one experiment at a time, after `./pants package`)"
)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """DVC's parser prints its error, or the help, and DVC prints them again when it runs."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(previous)


def parsed(argv: Sequence[str]) -> Namespace | None:
    """The command line as DVC reads it (its public parser), or None when DVC refuses it, asks
    for help or its version: then DVC says so itself and runs nothing."""
    return _parsed(tuple(argv))


# One parse per command line: the parser is built from every DVC command's module, and the
# refusal and the check both ask (DVC itself parses once more when it runs).
@functools.lru_cache(maxsize=4)
def _parsed(argv: tuple[str, ...]) -> Namespace | None:
    try:
        with silenced():
            args: Namespace = parse_args(list(argv))
    except (DvcParserError, SystemExit):
        return None
    return args


def refusal(argv: Sequence[str]) -> str | None:
    """Why the repo's DVC does not run `argv`, if it runs experiments outside the workspace."""
    args = parsed(argv)
    if args is None:
        return None
    command = getattr(args, "func", None)
    if command is CmdQueueStart:
        what = "`dvc queue start` runs queued experiments outside the workspace"
    elif command is CmdExperimentsRun and (args.queue or args.tmp_dir or args.run_all):
        what = "`dvc exp run --temp`, `--queue` and `--run-all` run the experiment outside the "
        what += "workspace"
    else:
        return None
    return f"{what}: {OUTSIDE_THE_WORKSPACE}"


def stage_running_root(argv: Sequence[str], cwd: Path) -> Path | None:
    """The repo root the command works in, if `argv` runs stages; else None. Follows DVC's
    `--cd DIR`; the root is the nearest directory up from there with a dvc.yaml beside .dvc."""
    args = parsed(argv)
    if args is None:
        return None
    command = getattr(args, "func", None)
    repro = isinstance(command, type) and issubclass(command, CmdRepro)  # `exp run` is one too
    if not (repro or (command is CmdStageAdd and args.run)):
        return None
    directory = (cwd / str(args.cd)).resolve()
    for candidate in (directory, *directory.parents):
        if (candidate / "dvc.yaml").is_file() and (candidate / ".dvc").is_dir():
            return candidate
    return None  # not in a DVC repo: DVC itself says so


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    refused = refusal(args)
    if refused is not None:
        print(f"artifacts: {refused}", file=sys.stderr)
        return 1
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
