"""Feature build time on the full year: the packaged feature PEX over every 2013 flight.

Run from the repo root with Python 3.11+ (standard library only; it builds the ingest and
feature PEXes):

    python3 -m benchmarks.feature_build --runs 3

It lands and curates the year once (flights and weather for every day, the planes and airports
snapshot of 31 December) under build/benchmarks/feature_build/, then times the whole `feature`
command (interpreter start, imports, reading, features, statistics, writing), as a pipeline
stage runs it. One untimed run first builds the PEX's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
from pathlib import Path

from benchmarks import REPO, arguments
from benchmarks.full_year import FEATURE, SPLITS, land_and_curate
from benchmarks.report import REPORTS, save, stamped
from benchmarks.timing import timed

WORK = REPORTS / "feature_build"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=arguments.count, default=3)
    args = parser.parse_args()

    subprocess.run(
        [str(REPO / "pants"), "package", "services/ingest:ingest", "services/feature:feature"],
        check=True,
        cwd=REPO,
    )
    landing, curated = WORK / "landing", WORK / "curated"
    shutil.rmtree(WORK, ignore_errors=True)
    land_and_curate(landing, curated)
    print("landed and curated the year", flush=True)

    def feature(output: Path) -> list[str]:
        return [str(FEATURE), "build", "--curated", str(curated), "--output", str(output), *SPLITS]

    warmup, _ = timed(feature(WORK / "features-warmup"))
    print(f"untimed first run (builds the PEX venv): {warmup:.2f}s", flush=True)
    seconds, summary = [], {}
    for number in range(args.runs):
        elapsed, out = timed(feature(WORK / "features"))
        seconds.append(elapsed)
        summary = json.loads(out)
        print(f"run {number + 1}: {elapsed:.2f}s", flush=True)

    median = statistics.median(seconds)
    report = stamped(
        command=" ".join(
            [
                "dist/services.feature/feature.pex/__main__.py",
                "build",
                "--curated",
                "<curated>",
                "--output",
                "<features>",
                *SPLITS,
            ]
        ),  # fmt: skip
        rows_in=summary["rows_in"],
        rows_out=summary["rows_out"],
        rows_per_split=summary["rows_per_split"],
        warmup_seconds=warmup,
        seconds=seconds,
        median_seconds=median,
        rows_in_per_second=summary["rows_in"] / median,
    )
    print(save(report, REPORTS / "feature_build.json"))


if __name__ == "__main__":
    main()
