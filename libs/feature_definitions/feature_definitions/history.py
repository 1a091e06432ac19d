"""Trailing delay aggregates: how many of a carrier's (an origin's) flights arrived lately, and
which share of them arrived more than 15 minutes late.

Point in time: for a flight scheduled to leave at instant t, exactly the flights whose actual
arrival instant lies in [t - window, t) count. A flight arriving at t or later is not known at t,
so its label cannot reach the features of the flight at t. Cancelled and diverted flights never
arrive, so they never count. With no flight in the window the rate is EMPTY_WINDOW_RATE and the
count (0) says so.

Each group's arrival instants are sorted once, with cumulative counts of delayed arrivals; a
window is then two binary searches: O((events + flights) log events), no loop over rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from feature_definitions.errors import FeatureInputError
from feature_definitions.instants import actual_arrival
from feature_definitions.labels import delayed

HISTORY_GROUPS: tuple[str, ...] = ("carrier", "origin")
EMPTY_WINDOW_RATE = 0.0
# What arrival_events needs of each arrived flight.
EVENT_SOURCE_COLUMNS: tuple[str, ...] = (
    "time_hour",
    "sched_dep_time",
    "sched_arr_time",
    "dest",
    "arr_delay",
    *HISTORY_GROUPS,
)


# What arrival_events gives and history_features reads.
EVENT_COLUMNS: tuple[str, ...] = (*HISTORY_GROUPS, "arrival", "delayed")


def flights_column(group: str) -> str:
    return f"{group}_trailing_flights"


def rate_column(group: str) -> str:
    return f"{group}_trailing_delay_rate"


HISTORY_FEATURES: tuple[str, ...] = tuple(
    column for group in HISTORY_GROUPS for column in (flights_column(group), rate_column(group))
)


def arrival_events(arrived: pd.DataFrame, airports: pd.DataFrame) -> pd.DataFrame:
    """One event per arrived flight: its groups, actual arrival instant (NaT when the
    destination's time zone is unknown: such a flight cannot be placed in time and never
    counts) and whether it was delayed."""
    missing = [c for c in EVENT_SOURCE_COLUMNS if c not in arrived.columns]
    if missing:
        raise FeatureInputError(f"arrived flights lack column(s) {', '.join(missing)}")
    if arrived["arr_delay"].isna().any():
        raise FeatureInputError("arrival events need an arrival delay for every flight")
    arrival = actual_arrival(
        arrived["time_hour"],
        arrived["sched_dep_time"],
        arrived["sched_arr_time"],
        arrived["dest"],
        arrived["arr_delay"],
        airports,
    )
    events = arrived[list(HISTORY_GROUPS)].astype("string")
    events["arrival"] = arrival
    events["delayed"] = delayed(arrived["arr_delay"])
    return events


def _instant_ns(instants: pd.Series) -> np.ndarray:
    values: np.ndarray = (
        instants.dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .to_numpy(dtype="datetime64[ns]")
        .astype("int64")
    )
    return values


def check_window(window: object) -> None:
    """FeatureInputError unless `window` is a positive Timedelta (NaT is none: it would count
    every earlier event). The online store checks the window it records with it too."""
    if not isinstance(window, pd.Timedelta) or not window > pd.Timedelta(0):
        raise FeatureInputError(f"the window must be positive, got {window}")


def trailing_counts(
    group: pd.Series,
    at: pd.Series,
    event_group: pd.Series,
    event_arrival: pd.Series,
    event_delayed: pd.Series,
    window: pd.Timedelta,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row (`group`, instant `at`): the number of events of the same group arriving in
    [at - window, at), and how many of those were delayed."""
    check_window(window)
    at_ns = _instant_ns(at)
    window_ns = int(window.value)
    usable = event_arrival.notna().to_numpy() & event_group.notna().to_numpy()
    events = pd.DataFrame(
        {
            "group": event_group.to_numpy()[usable],
            "arrival": _instant_ns(event_arrival[usable]),
            "delayed": event_delayed.to_numpy(dtype="int64")[usable],
        }
    ).sort_values(["group", "arrival"], kind="stable")
    flights = np.zeros(len(at_ns), dtype="int64")
    late = np.zeros(len(at_ns), dtype="int64")
    rows_of_group = pd.Series(np.arange(len(at_ns))).groupby(group.to_numpy(), sort=True).indices
    # One pass per group value (a carrier, an airport), each vectorised over its rows.
    for value, group_events in events.groupby("group", sort=True):
        rows = rows_of_group.get(value)
        if rows is None:
            continue
        arrivals = group_events["arrival"].to_numpy()
        delayed_before = np.concatenate(([0], np.cumsum(group_events["delayed"].to_numpy())))
        end = np.searchsorted(arrivals, at_ns[rows], side="left")
        start = np.searchsorted(arrivals, at_ns[rows] - window_ns, side="left")
        flights[rows] = end - start
        late[rows] = delayed_before[end] - delayed_before[start]
    return flights, late


def history_features(
    groups: pd.DataFrame, at: pd.Series, events: pd.DataFrame, window: pd.Timedelta
) -> pd.DataFrame:
    """HISTORY_FEATURES for each row of `groups` (HISTORY_GROUPS columns), scheduled to leave at
    instant `at`, from `events` (see arrival_events)."""
    features = pd.DataFrame(index=groups.index)
    for group in HISTORY_GROUPS:
        flights, late = trailing_counts(
            groups[group].astype("string"),
            at,
            events[group],
            events["arrival"],
            events["delayed"],
            window,
        )
        rate = np.where(flights > 0, late / np.maximum(flights, 1), EMPTY_WINDOW_RATE)
        features[flights_column(group)] = flights
        features[rate_column(group)] = rate.astype("float64")
    return features[list(HISTORY_FEATURES)]
