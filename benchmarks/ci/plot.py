"""Draws build/benchmarks/ci.json (written by run.py) as build/benchmarks/ci.png: the median
CI cost of each case, monorepo beside polyrepo.

    ./pants run benchmarks/ci:plot [-- --input build/benchmarks/ci.json --output docs/ci-cost.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write a file
import matplotlib.pyplot as plt

# (label, monorepo key, polyrepo key) per case, in the order of the issue.
CASES: tuple[tuple[str, str, str | None], ...] = (
    ("full, cold", "cold_full", "polyrepo_full"),
    ("full, services+libs only", "cold_full_services_and_libs", "polyrepo_full"),
    ("warm no-op", "warm_noop_no_daemon", None),
    ("one-service change", "one_service_change", "polyrepo_one_service_change"),
    ("lib change", "lib_change", "polyrepo_lib_change"),
)


def plot(report: dict[str, object], output: Path) -> None:
    medians = report["medians"]
    assert isinstance(medians, dict)
    labels = [label for label, _, _ in CASES]
    mono = [float(medians[key]) for _, key, _ in CASES]
    poly = [float(medians[key]) if key else 0.0 for _, _, key in CASES]
    figure, axes = plt.subplots(figsize=(9, 4.5))
    positions = range(len(CASES))
    width = 0.38
    axes.bar([p - width / 2 for p in positions], mono, width, label="Pants monorepo")
    axes.bar([p + width / 2 for p in positions], poly, width, label="polyrepo (one repo per unit)")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=Path("build/benchmarks/ci.json"))
    parser.add_argument("--output", type=Path, default=Path("build/benchmarks/ci.png"))
    args = parser.parse_args()
    plot(json.loads(args.input.read_text()), args.output)
    print(args.output)


if __name__ == "__main__":
    main()
