"""Command line of the train service."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from train.baseline import TrainingDataError, train_file
from train.device import select_device


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train", description=__doc__)
    parser.add_argument(
        "--features",
        type=Path,
        required=True,
        help="the feature service's output directory; trains on its train.parquet",
    )
    parser.add_argument("--model", type=Path, required=True, help="model file to write")
    args = parser.parse_args(argv)
    try:
        report = train_file(args.features, args.model)
    except TrainingDataError as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({**asdict(report), "model": str(args.model), "device": str(select_device())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
