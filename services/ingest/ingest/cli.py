"""Command line of the ingest service: `land` upstream files, then `curate` them."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import asdict
from pathlib import Path

from contracts.flights import ContractViolation
from ingest.curate import curate_files
from ingest.land import land_flights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    land = commands.add_parser("land", help="land upstream flights as one CSV per day")
    land.add_argument("--start", type=dt.date.fromisoformat, required=True, help="first day")
    land.add_argument("--end", type=dt.date.fromisoformat, required=True, help="last day")
    land.add_argument("--landing", type=Path, required=True, help="landing directory")
    curate = commands.add_parser("curate", help="check landed flights and write Parquet")
    curate.add_argument("--landing", type=Path, required=True, help="landing directory")
    curate.add_argument("--output", type=Path, required=True, help="curated Parquet to write")
    args = parser.parse_args(argv)
    try:
        if args.command == "land":
            written = land_flights(args.start, args.end, args.landing)
            print(json.dumps({"landed_files": len(written), "landing": str(args.landing)}))
        else:
            sources = sorted((args.landing / "flights").glob("*.csv"))
            report = curate_files(sources, args.output)
            print(json.dumps(asdict(report)))
    except (ContractViolation, FileNotFoundError, ValueError) as error:
        print(f"ingest: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
