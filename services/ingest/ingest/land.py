"""Lands upstream flights the way an upstream system drops them: one CSV file per day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ingest.upstream import read_table
from storage.atomic import atomic_output


def land_flights(start: dt.date, end: dt.date, landing: Path) -> list[Path]:
    """Write `landing/flights/<date>.csv` for each day from `start` to `end` inclusive."""
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    flights = read_table("flights")
    departure_day = pd.to_datetime(flights[["year", "month", "day"]]).dt.date
    written = []
    for day in pd.date_range(start, end, freq="D").date:
        path = landing / "flights" / f"{day.isoformat()}.csv"
        with atomic_output(path) as tmp:
            flights[departure_day == day].to_csv(tmp, index=False)
        written.append(path)
    return written
