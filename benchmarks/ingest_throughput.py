"""Ingest throughput on the full year of flights, against the machine's limit measured in the
same run: pyarrow's plain CSV read plus Parquet write of the same files, with no validation.

Run from the repo root with Python 3.11+ (standard library only; it builds the ingest PEX):

    python3 benchmarks/ingest_throughput.py --runs 3

Both sides run inside the ingest PEX, so they use the same locked pyarrow. Ingest is timed as
the whole `curate` command (interpreter start and imports included), as a pipeline stage runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEX = REPO / "dist" / "services.ingest" / "ingest.pex"
ROWS = 336_776

LIMIT_SCRIPT = """
import sys
from pathlib import Path
import pyarrow.csv as csv
import pyarrow.parquet as parquet
landing, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for path in sorted((landing / "flights").glob("*.csv")):
    parquet.write_table(csv.read_csv(path), out / (path.stem + ".parquet"))
"""


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    subprocess.run([str(REPO / "pants"), "package", "services/ingest:ingest"], check=True, cwd=REPO)
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as scratch:
        landing = Path(scratch) / "landing"
        subprocess.run(
            [str(PEX), "land", "--start", "2013-01-01", "--end", "2013-12-31",
             "--landing", str(landing), "--tables", "flights"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        interpreter = {**os.environ, "PEX_INTERPRETER": "1"}
        limit, ingest = [], []
        for run in range(args.runs):
            out = Path(scratch) / f"run-{run}"
            limit.append(
                timed([str(PEX), "-c", LIMIT_SCRIPT, str(landing), str(out / "limit")], interpreter)
            )
            ingest.append(
                timed([str(PEX), "curate", "--landing", str(landing),
                       "--curated", str(out / "curated"), "--tables", "flights"])
            )  # fmt: skip
            print(f"run {run + 1}: limit {limit[-1]:.2f}s, ingest {ingest[-1]:.2f}s", flush=True)

    limit_rate = ROWS / statistics.median(limit)
    ingest_rate = ROWS / statistics.median(ingest)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "limit_seconds": limit,
        "ingest_seconds": ingest,
        "limit_rows_per_second": limit_rate,
        "ingest_rows_per_second": ingest_rate,
        "ingest_share_of_limit": ingest_rate / limit_rate,
    }
    out_file = REPO / "build" / "benchmarks" / "ingest_throughput.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
