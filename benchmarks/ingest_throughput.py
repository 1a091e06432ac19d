"""Ingest throughput on a full year of landed files, against the machine's limit measured in
the same run: pyarrow's plain CSV read plus Parquet write of the same files, with no validation.

Run from the repo root with Python 3.11+ (standard library only; it builds the ingest PEX):

    python3 -m benchmarks.ingest_throughput --runs 3
    python3 -m benchmarks.ingest_throughput --runs 3 --tables flights weather planes

Both sides run inside the ingest PEX, so they use the same locked pyarrow. Ingest is timed as
the whole `curate` command (interpreter start and imports included), as a pipeline stage runs it.
Rows are the data rows of the landed files, as curate's own report counts them (rows_read).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks import REPO, arguments
from benchmarks.report import REPORTS, save, stamped
from benchmarks.timing import timed

# The ingest artifact, a packed PEX run through its __main__.py (ADR 0011).
PEX = REPO / "dist" / "services.ingest" / "ingest.pex" / "__main__.py"
# The tables ingest curates: contracts.tables.CURATED_TABLES' names (ingest_throughput_test
# holds them equal). Not imported: this runs on the standard library alone.
TABLES = ("flights", "weather", "planes", "airports")

LIMIT_SCRIPT = """
import sys
from pathlib import Path

import pyarrow.csv as csv
import pyarrow.parquet as parquet
landing, out = Path(sys.argv[1]), Path(sys.argv[2])
for table in sys.argv[3:]:
    (out / table).mkdir(parents=True, exist_ok=True)
    for path in sorted((landing / table).glob("*.csv")):
        parquet.write_table(csv.read_csv(path), out / table / (path.stem + ".parquet"))
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--runs", type=arguments.count, default=3)
    parser.add_argument(
        "--tables",
        nargs="+",
        choices=TABLES,
        default=["flights"],
        help="tables to land and curate (flights)",
    )
    args = parser.parse_args(argv)

    subprocess.run([str(REPO / "pants"), "package", "services/ingest:ingest"], check=True, cwd=REPO)
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as scratch:
        landing = Path(scratch) / "landing"
        subprocess.run(
            [str(PEX), "land", "--start", "2013-01-01", "--end", "2013-12-31",
             "--landing", str(landing), "--tables", *args.tables],
            check=True,
            stdout=subprocess.DEVNULL,  # its error, if any, still reaches the terminal
        )  # fmt: skip
        interpreter = {**os.environ, "PEX_INTERPRETER": "1"}
        limit, ingest, rows = [], [], 0
        for run in range(args.runs):
            out = Path(scratch) / f"run-{run}"
            seconds, _ = timed(
                [str(PEX), "-c", LIMIT_SCRIPT, str(landing), str(out / "limit"), *args.tables],
                env=interpreter,
            )
            limit.append(seconds)
            seconds, summary = timed(
                [str(PEX), "curate", "--landing", str(landing),
                 "--curated", str(out / "curated"), "--tables", *args.tables]
            )  # fmt: skip
            ingest.append(seconds)
            rows = json.loads(summary)["rows_read"]
            print(f"run {run + 1}: limit {limit[-1]:.2f}s, ingest {ingest[-1]:.2f}s", flush=True)

    limit_rate = rows / statistics.median(limit)
    ingest_rate = rows / statistics.median(ingest)
    report = stamped(
        tables=args.tables,
        rows=rows,
        limit_seconds=limit,
        ingest_seconds=ingest,
        limit_rows_per_second=limit_rate,
        ingest_rows_per_second=ingest_rate,
        ingest_share_of_limit=ingest_rate / limit_rate,
    )
    print(save(report, REPORTS / f"ingest_throughput-{'-'.join(args.tables)}.json"))


if __name__ == "__main__":
    main()
