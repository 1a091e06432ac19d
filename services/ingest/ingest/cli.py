"""Command line of the ingest service."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from contracts.flights import ContractViolation
from ingest.curate import curate_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ingest", description=__doc__)
    parser.add_argument("--input", type=Path, required=True, help="upstream flights CSV file")
    parser.add_argument("--output", type=Path, required=True, help="curated Parquet file to write")
    args = parser.parse_args(argv)
    try:
        report = curate_file(args.input, args.output)
    except (ContractViolation, FileNotFoundError) as error:
        print(f"ingest: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
