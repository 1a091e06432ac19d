"""Draws build/benchmarks/ci.json (written by run.py) as build/benchmarks/ci.png: the median
CI cost of each case, monorepo beside polyrepo (monorepo alone for a `--monorepo-only` report).

    ./pants run benchmarks/ci:plot [-- --input build/benchmarks/ci.json --output docs/ci-cost.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: write a file
import matplotlib.pyplot as plt

from benchmarks import arguments

# (label, monorepo key, polyrepo key) per case, in the order of the issue.
CASES: tuple[tuple[str, str, str | None], ...] = (
    ("full, cold", "cold_full", "polyrepo_full"),
    ("full, services+libs only", "cold_full_services_and_libs", "polyrepo_full"),
    ("warm no-op", "warm_noop_no_daemon", None),
    ("one-service change", "one_service_change", "polyrepo_one_service_change"),
    ("lib change", "lib_change", "polyrepo_lib_change"),
)


class ReportError(ValueError):
    """The input is not a report run.py finished a run of; the message names what is missing."""


def read_report(path: Path) -> dict[str, Any]:
    """The report at `path`, with a median of every monorepo case."""
    try:
        report = json.loads(path.read_text())
    except OSError as error:
        raise ReportError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise ReportError(f"{path} is not JSON: {error}") from None
    if not isinstance(report, dict) or not isinstance(report.get("medians"), dict):
        raise ReportError(f"{path} is not a report of benchmarks/ci/run.py: it has no medians")
    missing = [key for _, key, _ in CASES if key not in report["medians"]]
    if missing:
        runs = report.get("runs")
        raise ReportError(
            f"{path} has no median of {', '.join(missing)} "
            f"({len(runs) if isinstance(runs, list) else 'no'} runs in it)"
        )
    return report


def plot(report: dict[str, Any], output: Path) -> None:
    medians = report["medians"]
    labels = [label for label, _, _ in CASES]
    mono = [float(medians[key]) for _, key, _ in CASES]
    with_polyrepo = all(key in medians for _, _, key in CASES if key)
    poly = [float(medians[key]) if key and with_polyrepo else 0.0 for _, _, key in CASES]
    figure, axes = plt.subplots(figsize=(9, 4.5))
    positions = range(len(CASES))
    width = 0.38
    axes.bar([p - width / 2 for p in positions], mono, width, label="Pants monorepo")
    if with_polyrepo:
        axes.bar(
            [p + width / 2 for p in positions], poly, width, label="polyrepo (one repo per unit)"
        )
    for position, seconds in zip(positions, mono, strict=True):
        axes.annotate(f"{seconds:.0f}", (position - width / 2, seconds), ha="center", va="bottom")
    for position, seconds in zip(positions, poly, strict=True):
        if seconds:
            axes.annotate(f"{seconds:.0f}", (position + width / 2, seconds), ha="center",
                          va="bottom")  # fmt: skip
    axes.set_xticks(list(positions), labels, rotation=12)
    axes.set_ylabel("CI wall time, median (s)")
    axes.set_title(f"CI cost per change ({report['date']}, commit {report['commit']})")
    axes.legend()
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input", type=arguments.report_file, default=Path("build/benchmarks/ci.json")
    )
    parser.add_argument(
        "--output", type=arguments.report_file, default=Path("build/benchmarks/ci.png")
    )
    args = parser.parse_args(argv)
    try:
        report = read_report(args.input)
    except ReportError as error:
        parser.error(f"argument --input: {error}")
    try:
        plot(report, args.output)
    except OSError as error:
        parser.error(f"argument --output: cannot write {args.output}: {error}")
    print(args.output)


if __name__ == "__main__":
    main()
