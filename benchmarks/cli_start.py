"""How long each service artifact takes to answer `--help`: what a refused argument, `--help`
or `train rollback` waits for before any work. The limit, measured in the same run, is the same
artifact starting an interpreter that runs nothing (`PEX_INTERPRETER=1 <pex> -c pass`): what
the PEX and Python cost before the service's own imports.

    ./pants package services::
    python3 -m benchmarks.cli_start --runs 5 --output build/benchmarks/cli_start.json

It measures every service PEX in dist/ (`dist/services.<name>/<name>.pex`), started as the DVC
stages start them (its `__main__.py`); `--artifact` adds another build (an older commit's, to
compare). Each run starts every artifact in turn, so a machine that slows down slows all of them.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Sequence
from pathlib import Path

from benchmarks import REPO, arguments
from benchmarks.report import REPORTS, markdown_table, repeated_runs
from benchmarks.timing import timed

DIST = REPO / "dist"
BUILD = "./pants package services::"
BARE = {"PEX_INTERPRETER": "1"}


def built_artifacts(dist: Path) -> list[Path]:
    """The service PEXes built in `dist`, by name."""
    return sorted(main.parent for main in dist.glob("services.*/*.pex/__main__.py"))


def start_seconds(artifact: Path) -> dict[str, float]:
    """One run of `artifact`: seconds to answer `--help`, then to run an empty interpreter."""
    main = str(artifact / "__main__.py")
    help_seconds, _ = timed([main, "--help"])
    bare_seconds, _ = timed([main, "-c", "pass"], env={**os.environ, **BARE})
    return {"help": help_seconds, "bare": bare_seconds}


def summary(runs: Sequence[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per artifact, the medians over `runs` of both starts, and `--help`'s over the bare one."""
    medians = {}
    for name in runs[0]:
        help_seconds = statistics.median(run[name]["help"] for run in runs)
        bare_seconds = statistics.median(run[name]["bare"] for run in runs)
        medians[name] = {
            "help": help_seconds,
            "bare": bare_seconds,
            "help_over_bare": help_seconds / bare_seconds,
        }
    return medians


def markdown(medians: dict[str, dict[str, float]]) -> str:
    return markdown_table(
        ["artifact", "`--help` (s, median)", "empty interpreter (s, median)", "ratio"],
        (
            [name, f"{f['help']:.2f}", f"{f['bare']:.2f}", f"{f['help_over_bare']:.1f}"]
            for name, f in medians.items()
        ),
    )


def _name(artifact: Path) -> str:
    return str(artifact.relative_to(REPO)) if artifact.is_relative_to(REPO) else str(artifact)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=arguments.count, default=5)
    parser.add_argument(
        "--artifact",
        type=lambda text: arguments.built_pex(text, BUILD),
        action="append",
        default=[],
        help="another built service PEX to measure beside dist/'s",
    )
    parser.add_argument(
        "--output",
        type=arguments.report_file,
        default=REPORTS / "cli_start.json",
        help="the report (default: build/benchmarks/cli_start.json)",
    )
    args = parser.parse_args(argv)
    artifacts = [*built_artifacts(DIST), *(path.absolute() for path in args.artifact)]
    if not artifacts:
        parser.error(f"no service artifact in {DIST}: {BUILD} builds them")

    # A PEX's first start builds its venv: not what a start costs afterwards.
    for artifact in artifacts:
        start_seconds(artifact)

    def one_run(run: int) -> dict[str, dict[str, float]]:
        measured = {_name(artifact): start_seconds(artifact) for artifact in artifacts}
        print(f"run {run}: {measured}", flush=True)
        return measured

    medians = repeated_runs(args.runs, one_run, summary, args.output, parser)
    print(markdown(medians))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
