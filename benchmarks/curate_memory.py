"""Peak memory of `ingest curate` on the full year of 2013 and on a synthetic landing ten times
its size, against the least any curate run can use, measured in the same run: the ingest PEX
importing curate's modules and exiting.

Run from the repo root with Python 3.11+ (standard library only; it builds the ingest PEX):

    python3 -m benchmarks.curate_memory --runs 3
    python3 -m benchmarks.curate_memory --runs 3 --baseline-pex <an older build's ingest.pex>

`--pex` and `--baseline-pex` take a built ingest PEX as `./pants package` lays it out (the
dist/services.ingest/ingest.pex directory); without `--pex` it builds and measures dist/'s.

The ten-times landing holds the year ten times over, as 2013 to 2022: each copy's year is moved
on and its time_hour recomputed from the local fields, so every row is a distinct row, and the
planes and airports snapshot is landed on ten days (nine copies are duplicates). A few rows whose
local hour does not exist in a later year (the spring daylight-saving gap) are quarantined.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks import REPO, arguments, full_year
from benchmarks.report import REPORTS, save, stamped
from benchmarks.timing import peak_rss

COPIES = 10

# Run inside the ingest PEX (its pandas): writes the ten-times landing from the year's.
SYNTHESIZE = """
import shutil, sys
from pathlib import Path

import numpy as np
import pandas as pd

year, out, copies = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
for table in ("flights", "weather"):
    (out / table).mkdir(parents=True)
    # As text, so that every value but year and time_hour is written back as landed.
    rows = pd.concat(
        pd.read_csv(path, dtype=str, keep_default_na=False)
        for path in sorted((year / table).glob("*.csv"))
    )
    local = rows[["year", "month", "day", "hour"]].astype(int)
    for copy in range(copies):
        shifted = rows.assign(year=(local["year"] + copy).astype(str))
        wall = pd.to_datetime(local.assign(year=local["year"] + copy))
        instant = wall.dt.tz_localize(
            "America/New_York", ambiguous=np.ones(len(wall), dtype=bool),
            nonexistent="shift_forward",
        ).dt.tz_convert("UTC")
        shifted["time_hour"] = instant.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        for day, part in shifted.groupby(wall.dt.strftime("%Y-%m-%d"), sort=True):
            part.to_csv(out / table / f"{day}.csv", index=False)
for table in ("planes", "airports"):
    (out / table).mkdir(parents=True)
    for copy in range(copies):
        shutil.copy(year / table / "2013-12-31.csv", out / table / f"{2013 + copy}-12-31.csv")
"""

FLOOR = "import ingest.curate, ingest.cli"
BUILD = "./pants package services/ingest:ingest"


def built_ingest(text: str) -> Path:
    """An argparse type: the __main__.py of a built ingest PEX, given its directory."""
    return arguments.built_pex(text, BUILD).absolute() / "__main__.py"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--runs", type=arguments.count, default=3)
    parser.add_argument(
        "--pex", type=built_ingest, help="the ingest PEX measured (default: dist/'s, built first)"
    )
    parser.add_argument(
        "--baseline-pex",
        type=built_ingest,
        help="an older ingest PEX, measured the same way beside it",
    )
    args = parser.parse_args(argv)

    if args.pex is None:
        subprocess.run([str(REPO / "pants"), "package", "services/ingest:ingest"], check=True)
        args.pex = full_year.INGEST
    pexes = {"curate": args.pex}
    if args.baseline_pex:
        pexes["baseline"] = args.baseline_pex
    interpreter = {**os.environ, "PEX_INTERPRETER": "1"}
    results: dict[str, dict[str, list[float]]] = {}
    rows: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="curate-memory-") as scratch:
        landings = {"year": Path(scratch) / "year", "ten_years": Path(scratch) / "ten-years"}
        full_year.land(landings["year"], args.pex)
        subprocess.run(
            [str(args.pex), "-c", SYNTHESIZE, str(landings["year"]), str(landings["ten_years"]),
             str(COPIES)],
            check=True, env=interpreter,
        )  # fmt: skip
        for run in range(args.runs):
            mib, seconds, _ = peak_rss([str(args.pex), "-c", FLOOR], env=interpreter)
            results.setdefault("floor", {}).setdefault("mib", []).append(mib)
            for name, pex in pexes.items():
                for landing, path in landings.items():
                    curated = Path(scratch) / f"curated-{name}-{landing}"
                    mib, seconds, summary = peak_rss(
                        [str(pex), "curate", "--landing", str(path), "--curated", str(curated)]
                    )
                    result = results.setdefault(f"{name} {landing}", {})
                    result.setdefault("mib", []).append(mib)
                    result.setdefault("seconds", []).append(seconds)
                    rows[landing] = json.loads(summary)["rows_read"]
                    print(f"run {run + 1}: {name} {landing}: {mib:.0f} MiB, {seconds:.1f} s",
                          flush=True)  # fmt: skip

    medians = {case: {k: statistics.median(v) for k, v in r.items()} for case, r in results.items()}
    floor = medians["floor"]["mib"]
    report = stamped(
        rows_read=rows,
        runs=results,
        medians=medians,
        ratio_to_floor={case: m["mib"] / floor for case, m in medians.items()},
        ten_years_over_year={
            name: medians[f"{name} ten_years"]["mib"] / medians[f"{name} year"]["mib"]
            for name in pexes
        },
    )
    print(save(report, REPORTS / "curate_memory.json"))


if __name__ == "__main__":
    main()
