"""Command line of the ingest service: `land` upstream files, then `curate` them."""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict

from contracts.dates import calendar_date
from contracts.tables import CURATED_TABLES
from ingest.curate import LOCK_TIMEOUT_SECONDS, FileReport, NothingAccepted, curate
from ingest.land import land
from ingest.upstream import TABLE_FILES
from storage.arguments import path_argument
from storage.atomic import OutputWriteError
from storage.locations import is_remote
from storage.outputs import check_output
from storage.remote import StorageError, check_location

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
    land_cmd.add_argument("--tables", nargs="+", default=list(TABLE_FILES), help="tables to land")
    curate_cmd = commands.add_parser("curate", help="check landed flights, write curated Parquet")
    curate_cmd.add_argument("--landing", required=True, help="directory or fsspec URL")
    curate_cmd.add_argument("--curated", type=path_argument, required=True, help="output directory")
    curate_cmd.add_argument(
        "--tables", nargs="+", default=list(CURATED_TABLES), help="tables to curate"
    )
    curate_cmd.add_argument(
        "--lock-timeout",
        type=_seconds,
        default=LOCK_TIMEOUT_SECONDS,
        help="seconds to wait for another curate run writing the same output",
    )
    args = parser.parse_args(argv)
    try:
        check_location(args.landing, "--landing")
        if args.command == "land":
            if not is_remote(args.landing):
                check_output(args.landing.removeprefix("file://"), "--landing")
            written = land(args.start, args.end, args.landing, tuple(args.tables))
            print(json.dumps({"landed_files": written, "landing": args.landing}))
        else:
            check_output(args.curated, "--curated", inputs={"--landing": args.landing})
            reports = curate(
                args.landing, args.curated, tuple(args.tables), lock_timeout=args.lock_timeout
            )
            print(json.dumps(_summary(reports)))
    except NothingAccepted as error:
        print(json.dumps(_summary(error.reports)))
        print(f"ingest: error: {error}", file=sys.stderr)
        return EXIT_NOTHING_ACCEPTED
    except TimeoutError as error:
        print(f"ingest: error: {error}", file=sys.stderr)
        return EXIT_LOCKED
    except (FileNotFoundError, ValueError) as error:
        print(f"ingest: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (StorageError, OutputWriteError) as error:
        print(f"ingest: error: {error}", file=sys.stderr)
        return EXIT_STORAGE
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
