"""A small curated tree, as `ingest curate` writes it, for the feature service's tests: UA
flights EWR-IAH and AA flights JFK-LAX on 1-10 June 2013, three a day each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from contracts.airports import AIRPORTS
from contracts.flights import FLIGHTS
from contracts.planes import PLANES
from contracts.table import TableContract
from contracts.weather import WEATHER

NEW_YORK = "America/New_York"
DAYS = range(1, 11)
# (carrier, flight number, origin, dest, tailnum); N999ZZ is not in the planes table.
ROUTES = (("UA", 1545, "EWR", "IAH", "N14228"), ("AA", 33, "JFK", "LAX", "N999ZZ"))
DEPARTURES = (800, 1200, 1800)
# The weather hour that upstream did not record: EWR, 3 June 12:00 New York time.
MISSING_WEATHER = pd.Timestamp("2013-06-03 12:00", tz=NEW_YORK).tz_convert("UTC")


def typed(contract: TableContract, rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(contract.columns))
    for column in contract.integer_columns:
        frame[column] = frame[column].astype("Int64")
    for column in contract.float_columns:
        frame[column] = frame[column].astype("float64")
    for column in contract.string_columns:
        frame[column] = frame[column].astype("string")
    for column in contract.timestamp_columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def flight(
    day: int, sched_dep: int, route: tuple[str, int, str, str, str], arr_delay: float | None
) -> dict[str, Any]:
    carrier, number, origin, dest, tailnum = route
    local = pd.Timestamp(2013, 6, day, sched_dep // 100, tz=NEW_YORK)
    departed = arr_delay is not None
    # The arrival's clock time agrees with its delay, as the contract requires (HHMM).
    arrived = sched_dep // 100 * 60 + sched_dep % 100 + 120 + (arr_delay or 0)
    return {
        "year": 2013, "month": 6, "day": day,
        "dep_time": sched_dep + 5 if departed else None, "sched_dep_time": sched_dep,
        "dep_delay": 5.0 if departed else None,
        "arr_time": arrived // 60 * 100 + arrived % 60 if departed else None,
        "sched_arr_time": sched_dep + 200, "arr_delay": arr_delay,
        "carrier": carrier, "flight": number + sched_dep, "tailnum": tailnum,
        "origin": origin, "dest": dest, "air_time": 180.0 if departed else None,
        "distance": 1400, "hour": local.hour, "minute": 0,
        "time_hour": local.tz_convert("UTC"),
    }  # fmt: skip


def flights() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = [
        flight(day, dep, route, float(rng.choice([-10.0, 0.0, 20.0, 60.0])))
        for day in DAYS
        for route in ROUTES
        for dep in DEPARTURES
    ]
    # 5 June: the UA 12:00 is cancelled, the UA 18:00 diverted (it departed, never arrived).
    cancelled = flight(5, 1200, ROUTES[0], None)
    diverted = flight(5, 1800, ROUTES[0], None) | {"dep_time": 1805.0, "dep_delay": 5.0}
    rows = [
        cancelled if (r["day"], r["carrier"], r["sched_dep_time"]) == (5, "UA", 1200)
        else diverted if (r["day"], r["carrier"], r["sched_dep_time"]) == (5, "UA", 1800)
        else r
        for r in rows
    ]  # fmt: skip
    return typed(FLIGHTS, rows)


def weather() -> pd.DataFrame:
    hours = pd.date_range("2013-06-01", "2013-06-12", freq="h", tz=NEW_YORK)
    rows = [
        {
            "origin": origin,
            "year": 2013,
            "month": hour.month,
            "day": hour.day,
            "hour": hour.hour,
            "temp": 60.0 + hour.hour,
            "dewp": 50.0,
            "humid": 70.0,
            "wind_dir": 180.0,
            "wind_speed": 8.0,
            "wind_gust": None,
            "precip": 0.0,
            "pressure": 1015.0 + (origin == "JFK"),
            "visib": 10.0,
            "time_hour": hour.tz_convert("UTC"),
        }  # fmt: skip
        for origin in ("EWR", "JFK", "LGA")
        for hour in hours
        if not (origin == "EWR" and hour == MISSING_WEATHER)
    ]
    return typed(WEATHER, rows)


def planes() -> pd.DataFrame:
    row = {"tailnum": "N14228", "year": 1999, "type": "Fixed wing multi engine",
           "manufacturer": "BOEING", "model": "737-824", "engines": 2, "seats": 149,
           "speed": None, "engine": "Turbo-fan"}  # fmt: skip
    return typed(PLANES, [row])


def airports() -> pd.DataFrame:
    rows = [
        {"faa": "IAH", "name": "George Bush Intercontinental", "lat": 29.98, "lon": -95.34,
         "alt": 97, "tz": -6, "dst": "A", "tzone": "America/Chicago"},
        {"faa": "LAX", "name": "Los Angeles Intl", "lat": 33.94, "lon": -118.41, "alt": 126,
         "tz": -8, "dst": "A", "tzone": "America/Los_Angeles"},
    ]  # fmt: skip
    return typed(AIRPORTS, rows)


def write_curated(root: Path, tables: dict[str, pd.DataFrame]) -> Path:
    for name, frame in tables.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        file = "2013-06.parquet" if name in ("flights", "weather") else f"{name}.parquet"
        frame.to_parquet(root / name / file, index=False)
    return root


@pytest.fixture
def curated_tables() -> dict[str, pd.DataFrame]:
    return {"flights": flights(), "weather": weather(), "planes": planes(), "airports": airports()}


@pytest.fixture
def curated(tmp_path: Path, curated_tables: dict[str, pd.DataFrame]) -> Path:
    return write_curated(tmp_path / "curated", curated_tables)
