"""Command line of the ingest service: `land` upstream files, then `curate` them.

Each command imports its work (pandas, pyarrow, the table contracts) when it runs, so that
`--help` and a refused argument answer at once.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

from contracts.dates import calendar_date
from storage.arguments import path_argument
from storage.atomic import OutputWriteError
from storage.locations import is_remote
from storage.outputs import check_output
from storage.remote import StorageError, check_location

if TYPE_CHECKING:
    from ingest.curate import FileReport

EXIT_USAGE = 2
# Every landed file of some table was quarantined; the previous curated output is kept.
EXIT_NOTHING_ACCEPTED = 3
# Another curate run held the output's lock for longer than --lock-timeout.
EXIT_LOCKED = 4
# A storage failed: the landing's (unreachable, no credentials), or the curated output's (no room
# left); each file is whole or absent, and the previous curated output is kept.
EXIT_STORAGE = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    land_cmd = commands.add_parser("land", help="land upstream tables as one CSV per table per day")
    land_cmd.add_argument("--start", type=calendar_date, required=True, help="first day")
    land_cmd.add_argument("--end", type=calendar_date, required=True, help="last day")
    land_cmd.add_argument("--landing", required=True, help="directory or fsspec URL (s3://...)")
    land_cmd.add_argument("--tables", nargs="+", help="tables to land (default: all)")
    curate_cmd = commands.add_parser("curate", help="check landed tables, write curated Parquet")
    curate_cmd.add_argument("--landing", required=True, help="directory or fsspec URL")
    curate_cmd.add_argument("--curated", type=path_argument, required=True, help="output directory")
    curate_cmd.add_argument("--tables", nargs="+", help="tables to curate (default: all)")
    curate_cmd.add_argument(
        "--lock-timeout",
        type=_seconds,
        help="seconds to wait for another curate run writing the same output",
    )
    args = parser.parse_args(argv)
    try:
        check_location(args.landing, "--landing")
        return _land(args) if args.command == "land" else _curate(args)
    except TimeoutError as error:
        print(f"ingest: error: {error}", file=sys.stderr)
        return EXIT_LOCKED
    except (FileNotFoundError, ValueError) as error:
        print(f"ingest: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (StorageError, OutputWriteError) as error:
        print(f"ingest: error: {error}", file=sys.stderr)
        return EXIT_STORAGE


def _land(args: argparse.Namespace) -> int:
    if not is_remote(args.landing):
        check_output(args.landing.removeprefix("file://"), "--landing")
    from ingest.land import land
    from ingest.upstream import TABLE_FILES

    written = land(args.start, args.end, args.landing, tuple(args.tables or TABLE_FILES))
    print(json.dumps({"landed_files": written, "landing": args.landing}))
    return 0


def _curate(args: argparse.Namespace) -> int:
    check_output(args.curated, "--curated", inputs={"--landing": args.landing})
    from contracts.tables import CURATED_TABLES
    from ingest.curate import LOCK_TIMEOUT_SECONDS, NothingAccepted, curate

    tables = tuple(args.tables or CURATED_TABLES)
    wait = LOCK_TIMEOUT_SECONDS if args.lock_timeout is None else args.lock_timeout
    try:
        reports = curate(args.landing, args.curated, tables, lock_timeout=wait)
    except NothingAccepted as error:
        print(json.dumps(_summary(error.reports)))
        print(f"ingest: error: {error}", file=sys.stderr)
        return EXIT_NOTHING_ACCEPTED
    print(json.dumps(_summary(reports)))
    return 0


def _seconds(text: str) -> float:
    """A finite number of seconds >= 0 (argparse names the flag if it is not)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds >= 0")
    return value


def _summary(reports: list[FileReport]) -> dict[str, object]:
    totals = {
        key: sum(getattr(r, key) for r in reports)
        for key in ("rows_read", "rows_accepted", "rows_quarantined", "rows_duplicate")
    }
    quarantined = [asdict(r) for r in reports if r.status == "quarantined"]
    return {"files": len(reports), **totals, "quarantined_files": quarantined}


if __name__ == "__main__":
    sys.exit(main())
