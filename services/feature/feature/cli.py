"""Command line of the feature service, one artifact with two commands:

build         curated tables in; the train, validation and test tables and the train split's
              feature statistics (with the drift threshold serving compares against) out
online-store  curated tables in; the online store that serving reads out

Each command imports its work (pandas, pyarrow, the table contracts) after checking its output,
so that `--help`, an argument argparse refuses and a refused output answer at once (a window,
threshold or split dates it parses but the command refuses are refused after those imports,
before any curated file is read).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from contracts.dates import calendar_date
from feature.errors import InputError
from feature_definitions.errors import FeatureInputError
from storage.arguments import path_argument
from storage.atomic import OutputWriteError
from storage.outputs import OutputError, check_output

NO_WEATHER = "no weather at the flights' origin(s)"


def _build(args: argparse.Namespace) -> dict[str, Any]:
    check_output(args.output, "--output", inputs={"--curated": args.curated})
    from feature.build import build_features
    from feature.splits import SplitDates

    summary = build_features(
        args.curated,
        args.output,
        SplitDates(args.train_end, args.validation_end),
        args.window_days,
        args.psi_threshold,
    )
    weatherless = summary["origins_without_weather"]
    _warn(args, NO_WEATHER, weatherless, "rows", "they take the weather fills")
    _warn(
        args,
        "the weather ends before the flights at origin(s)",
        summary["rows_after_weather_ends"],
        "rows",
        "they take the weather fills, and the online store refuses such flights (its horizon "
        "for an origin ends with the origin's weather)",
    )
    return {"output": str(args.output), **summary}


def _online_store(args: argparse.Namespace) -> dict[str, Any]:
    check_output(args.output, "--output", inputs={"--curated": args.curated}, directory=False)
    from feature.materialize import materialize

    rows, weatherless = materialize(args.curated, args.output, args.window_days)
    # Built anyway: one station's missing feed must not age every origin's served store.
    _warn(args, NO_WEATHER, weatherless, "flights", "the store refuses their flights")
    return {"output": str(args.output), "rows": rows, "origins_without_weather": weatherless}


def _warn(
    args: argparse.Namespace, problem: str, origins: dict[str, int], unit: str, what: str
) -> None:
    """Name on stderr the origins with a weather `problem` (ADR 0018), each with its count of
    `unit`, and `what` the command made of them."""
    if origins:
        named = ", ".join(f"{origin} ({count} {unit})" for origin, count in origins.items())
        print(
            f"feature {args.command}: warning: {problem} {named}: {what}",
            file=sys.stderr,
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feature", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="the training table, split by time")
    build.add_argument(
        "--curated",
        type=path_argument,
        required=True,
        help="curated tree written by `ingest curate`",
    )
    build.add_argument(
        "--output", type=path_argument, required=True, help="directory to write, replaced whole"
    )
    build.add_argument(
        "--train-end",
        type=calendar_date,
        required=True,
        help="last New York departure date of the train split (YYYY-MM-DD)",
    )
    build.add_argument(
        "--validation-end",
        type=calendar_date,
        required=True,
        help="last departure date of the validation split; later flights are test",
    )
    build.add_argument(
        "--window-days",
        type=int,
        required=True,
        help="trailing window of the history features (params.yaml's features.window_days)",
    )
    # Required: params.yaml's monitor.psi_threshold is its only home, so no default here.
    build.add_argument(
        "--psi-threshold",
        type=float,
        required=True,
        help="PSI above which a served feature has drifted, written into stats.json for serve",
    )
    build.set_defaults(run=_build)

    online = commands.add_parser("online-store", help="the online store serving reads")
    online.add_argument(
        "--curated", type=path_argument, required=True, help="curated tree of ingest"
    )
    online.add_argument(
        "--output", type=path_argument, required=True, help="store file to (re)write"
    )
    online.add_argument(
        "--window-days", type=int, required=True, help="trailing window, as given to the build"
    )
    online.set_defaults(run=_online_store)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        report = args.run(args)
    except (InputError, FeatureInputError, OutputError, OutputWriteError) as error:
        print(f"feature {args.command}: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
