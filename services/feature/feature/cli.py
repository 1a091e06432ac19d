"""Command line of the feature service."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from contracts.table import ContractViolation
from feature.build_table import build_table_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="feature", description=__doc__)
    parser.add_argument(
        "--input",
        type=Path,
        required=True,
        help="curated flights: a Parquet file or a directory of them",
    )
    parser.add_argument("--output", type=Path, required=True, help="training table to write")
    args = parser.parse_args(argv)
    try:
        rows = build_table_file(args.input, args.output)
    except (ContractViolation, FileNotFoundError) as error:
        print(f"feature: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"output": str(args.output), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
