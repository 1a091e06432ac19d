"""A benchmark's report: what it measured, stamped with when and on which machine, kept as JSON
under build/benchmarks/ (git ignores build/) for docs/benchmarks.md to quote."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import REPO, machine

REPORTS = REPO / "build" / "benchmarks"

Run = TypeVar("Run")


def stamped(**measured: Any) -> dict[str, Any]:
    """`measured`, after the date (UTC) and the machine it was measured on."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.describe(),
        **measured,
    }


def commit(rev: str = "HEAD", root: Path = REPO) -> str:
    """The short hash of `rev` in the checkout at `root`, or "unknown" where git cannot say (not
    a checkout): a report that runs for minutes is saved either way."""
    found = subprocess.run(
        ["git", "rev-parse", "--short", "--verify", "--quiet", f"{rev}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() if found.returncode == 0 else "unknown"


def save(report: Mapping[str, Any], path: Path) -> str:
    """Write `report` to `path` as JSON, creating its directory; returns the JSON text. The file
    is replaced whole (written aside, then renamed), so a report saved again after each run is
    never left half-written."""
    text = json.dumps(report, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.saving")
    try:
        aside.write_text(text + "\n")
        os.replace(aside, path)
    finally:
        aside.unlink(missing_ok=True)
    return text


def save_or_refuse(report: Mapping[str, Any], path: Path, parser: argparse.ArgumentParser) -> None:
    """save(report, path), or the parser's error (exit 2) naming the --output `path` and why it
    cannot take the report. Saved before a benchmark's runs, it refuses such a path before any
    time is spent."""
    try:
        save(report, path)
    except OSError as error:
        # The error's own text names the file written aside, not the one the user gave.
        why = error.strerror or str(error)
        parser.error(f"argument --output: cannot save the report as {path}: {why}")


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table of `rows` under `columns`: the first column as text, the others (the
    figures) right-aligned."""
    lines = ["| " + " | ".join(columns) + " |", "| --- |" + " ---: |" * (len(columns) - 1)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def repeated_runs(
    count: int,
    one_run: Callable[[int], Run],
    summarise: Callable[[list[Run]], Any],
    output: Path | None,
    parser: argparse.ArgumentParser,
) -> Any:
    """`summarise` of `one_run(1)` to `one_run(count)`. Given an `output`, the report (the
    command, the runs and, at the end, their summary as `medians`) is saved before the first run,
    so an unusable path is refused before any time is spent, then after each run and at the end."""
    runs: list[Run] = []
    if output:
        save_or_refuse(stamped(command=sys.argv, runs=runs), output, parser)
    for run in range(1, count + 1):
        runs.append(one_run(run))
        if output:
            save(stamped(command=sys.argv, runs=runs), output)
    medians = summarise(runs)
    if output:
        save(stamped(command=sys.argv, runs=runs, medians=medians), output)
    return medians
