"""Command line of the feature service: curated tables in, train/validation/test tables out."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from feature.build import build_features
from feature.errors import InputError
from feature.splits import SplitDates
from feature_definitions.errors import FeatureInputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="feature", description=__doc__)
    parser.add_argument(
        "--curated", type=Path, required=True, help="curated tree written by `ingest curate`"
    )
    parser.add_argument(
        "--output", type=Path, required=True, help="directory to write, replaced whole"
    )
    parser.add_argument(
        "--train-end",
        type=dt.date.fromisoformat,
        required=True,
        help="last New York departure date of the train split (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--validation-end",
        type=dt.date.fromisoformat,
        required=True,
        help="last departure date of the validation split; later flights are test",
    )
    parser.add_argument(
        "--window-days", type=int, default=7, help="trailing window of the history features"
    )
    args = parser.parse_args(argv)
    try:
        summary = build_features(
            args.curated,
            args.output,
            SplitDates(args.train_end, args.validation_end),
            args.window_days,
        )
    except (InputError, FeatureInputError) as error:
        print(f"feature: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"output": str(args.output), **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
