"""Features of the flights in a request, from the online store.

Two paths give the same values:

- `online_features` (the reference): the store's lookups as frames, then the same
  `compute_features` the offline training table ran;
- `flight_features` (what the service runs): the same definitions applied to the validated
  flights with NumPy arrays and dictionary lookups, with no pandas operation per request but
  building the result. `compute_features` costs a few hundred pandas operations whatever the
  number of rows (about 30 ms for one flight); this costs well under a millisecond.

Nothing here defines a feature: the fills, the window and the calendar come from
feature_definitions (the calendar by calling its own functions, cached per hour).
`tests/serving/skew_test.py` pins both paths to the offline table value for value, and
`flight_features_test.py` checks them against each other on generated flights.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

import numpy as np
import pandas as pd

from feature_definitions.calendar import CALENDAR_FEATURES, calendar_features, local_time
from feature_definitions.errors import FeatureInputError
from feature_definitions.features import (
    CATEGORICAL_FEATURES,
    FEATURE_COLUMNS,
    REQUEST_COLUMNS,
    compute_features,
)
from feature_definitions.history import (
    EMPTY_WINDOW_RATE,
    HISTORY_GROUPS,
    check_window,
    flights_column,
    rate_column,
)
from feature_definitions.instants import scheduled_departure
from feature_definitions.planes import PLANE_FILLS, PLANE_KNOWN
from feature_definitions.weather import (
    GUST_FALLBACK,
    WEATHER_COLUMNS,
    WEATHER_FILLS,
    WEATHER_KNOWN,
    WEATHER_LEAD_NS,
)
from online_store.store import BeforeDataStart, OnlineStore, PastHorizon
from serve.schema import Flight

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MINUTE_NS = 60 * 10**9
# Calendar fields of an hour: (month_of_year, day_of_week, dep_hour, is_weekend, local year).
_CalendarRow = tuple[int, int, int, int, int]
# Hours remembered; live traffic asks about a few days of hours, so this is rarely reached.
CALENDAR_CACHE_HOURS = 100_000


class UnknownDestination(ValueError):
    """Flights whose destination the store lacks: `unknown` holds (position, destination)."""

    def __init__(self, unknown: list[tuple[int, str]]) -> None:
        super().__init__(", ".join(f"flights.{i}.dest: unknown airport {d!r}" for i, d in unknown))
        self.unknown = unknown


def check_destinations(flights: Sequence[Flight], store: OnlineStore) -> None:
    """Raise UnknownDestination naming every flight whose destination the store lacks (its
    arrival could not be placed in time)."""
    airports = store.airports
    unknown = [(i, flight.dest) for i, flight in enumerate(flights) if flight.dest not in airports]
    if unknown:
        raise UnknownDestination(unknown)


def online_features(flights: pd.DataFrame, store: OnlineStore) -> pd.DataFrame:
    """FEATURE_COLUMNS for each row of `flights` (REQUEST_COLUMNS), on its index: the
    reference computation (`compute_features` on the store's lookups). PastHorizon (positions
    in `flights`' order) for departures past the store's data horizon plus its allowance, or
    else BeforeDataStart for departures whose trailing window starts before its data start."""
    departure = scheduled_departure(flights["time_hour"], flights["sched_dep_time"])
    lookups = store.lookups(flights, departure)
    return compute_features(flights[list(REQUEST_COLUMNS)], lookups, store.window)


def _utc_ns(when: dt.datetime) -> int:
    """UTC nanoseconds of an aware datetime, exactly (integer arithmetic)."""
    return ((when - _EPOCH) // dt.timedelta(microseconds=1)) * 1000


class CalendarCache:
    """The calendar features of UTC instants, computed by feature_definitions.calendar for the
    instants not seen before, in one call per request. Holds at most `limit` instants: emptied
    when a request's new ones would take it past that."""

    def __init__(self, limit: int = CALENDAR_CACHE_HOURS) -> None:
        self._rows: dict[int, _CalendarRow] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def __call__(self, instants_ns: list[int]) -> list[_CalendarRow]:
        # This request's rows are kept apart from the cache, which another thread, or this one
        # making room for what it computed, may empty meanwhile.
        cached = self._rows
        unique = dict.fromkeys(instants_ns)
        found = {ns: row for ns in unique if (row := cached.get(ns))}
        missing = [ns for ns in unique if ns not in found]
        if missing:
            instants = pd.Series(pd.to_datetime(np.asarray(missing, dtype="int64"), utc=True))
            calendar = calendar_features(instants)
            year = local_time(instants).dt.year.to_numpy()
            columns = [calendar[name].to_numpy() for name in CALENDAR_FEATURES]
            computed: dict[int, _CalendarRow] = {}
            for i, ns in enumerate(missing):
                month, day, hour, weekend = (int(column[i]) for column in columns)
                computed[ns] = (month, day, hour, weekend, int(year[i]))
            with self._lock:
                if len(cached) + len(missing) > self._limit:
                    cached.clear()
                cached.update(computed)
            found.update(computed)
        return [found[ns] for ns in instants_ns]


_calendar = CalendarCache()


def check_departures(
    flights: Sequence[Flight], store: OnlineStore, hours: list[int] | None = None
) -> np.ndarray:
    """The flights' scheduled departures in UTC nanoseconds, once the store has checked them
    (OnlineStore.check_departures): PastHorizon or BeforeDataStart naming each flight, by its
    position, whose origin's weather or trailing window the store's data does not cover.
    `hours`: the flights' time_hour in UTC nanoseconds, when the caller has them."""
    if hours is None:
        hours = [_utc_ns(f.time_hour) for f in flights]
    departure = np.asarray(hours, dtype="int64") + np.fromiter(
        (f.sched_dep_time % 100 for f in flights), "int64", len(flights)
    ) * np.int64(_MINUTE_NS)
    store.check_departures(departure, [f.origin for f in flights])
    return departure


# A flight the store cannot score: (loc in the request, the 400's error type, the message).
Refusal = tuple[tuple[str | int, ...], str, str]


def store_refusals(flights: Sequence[Flight], store: OnlineStore) -> list[Refusal]:
    """Every reason the store cannot score the flights, in the flights' order: an unknown
    destination (`unknown_airport`, on `dest`), a departure past its origin's data horizon plus
    the allowance (`past_data_horizon`) or one whose window starts before the data start
    (`before_data_start`, both on `time_hour`). Empty when every flight can be scored."""
    refused: list[Refusal] = []
    try:
        check_destinations(flights, store)
    except UnknownDestination as error:
        refused += [
            (("flights", i, "dest"), "unknown_airport", f"unknown airport {dest!r}")
            for i, dest in error.unknown
        ]
    # The store names one kind at a time (past the horizon first): check the rest again.
    positions = list(range(len(flights)))
    while positions:
        try:
            check_departures([flights[i] for i in positions], store)
        except PastHorizon as error:
            named = [
                (positions[late.position], "past_data_horizon", error.reason(late))
                for late in error.past
            ]
        except BeforeDataStart as error:
            named = [(positions[i], "before_data_start", error.reason(d)) for i, d in error.before]
        else:
            break
        refused += [(("flights", i, "time_hour"), kind, message) for i, kind, message in named]
        left = {i for i, _, _ in named}
        positions = [i for i in positions if i not in left]
    return sorted(refused, key=lambda refusal: refusal[0][1])


def flight_features(flights: Sequence[Flight], store: OnlineStore) -> pd.DataFrame:
    """FEATURE_COLUMNS for each flight, on a RangeIndex: equal, value for value and dtype for
    dtype, to `online_features(flights_frame(flights), store)`; like it, PastHorizon naming
    every flight that leaves past the store's data horizon plus its allowance, or else
    BeforeDataStart naming every flight whose trailing window starts before its data start."""
    count = len(flights)
    hours = [_utc_ns(f.time_hour) for f in flights]
    # First, for every flight at once: a window past or before the store's data would undercount.
    departure = check_departures(flights, store, hours)
    columns: dict[str, object] = {
        name: pd.array([getattr(f, name) for f in flights], dtype="string")
        for name in CATEGORICAL_FEATURES
    }
    distance = np.fromiter((f.distance for f in flights), "float64", count)
    columns["distance"] = distance

    calendar = np.asarray(_calendar(hours), dtype="int64").reshape(count, 5)
    for i, name in enumerate(CALENDAR_FEATURES):
        columns[name] = calendar[:, i].astype("int8")

    # Weather at the origin WEATHER_LEAD before the departure's hour (weather_hour); missing
    # readings take the fixed fills.
    missing_hour = (None,) * len(WEATHER_COLUMNS)
    found = [
        store.weather_at(f.origin, hour - WEATHER_LEAD_NS)
        for f, hour in zip(flights, hours, strict=True)
    ]
    readings = np.array(
        [missing_hour if row is None else row for row in found], dtype="float64"
    ).reshape(count, len(WEATHER_COLUMNS))
    columns[WEATHER_KNOWN] = np.fromiter((row is not None for row in found), "int8", count)
    weather: dict[str, np.ndarray] = {}
    for i, name in enumerate(WEATHER_COLUMNS):
        if name in WEATHER_FILLS:
            weather[name] = np.where(np.isnan(readings[:, i]), WEATHER_FILLS[name], readings[:, i])
    gust = WEATHER_COLUMNS.index("wind_gust")
    weather["wind_gust"] = np.where(
        np.isnan(readings[:, gust]), weather[GUST_FALLBACK], readings[:, gust]
    )
    columns.update({name: weather[name] for name in WEATHER_COLUMNS})

    # The plane, by tail number; unknown attributes take the fixed fills.
    planes = [None if f.tailnum is None else store.plane(f.tailnum) for f in flights]
    attributes = np.array(
        [(None, None, None) if p is None else p for p in planes], dtype="float64"
    ).reshape(count, 3)
    columns[PLANE_KNOWN] = np.fromiter((p is not None for p in planes), "int8", count)
    age = np.maximum(calendar[:, 4].astype("float64") - attributes[:, 0], 0)
    columns["plane_age"] = np.where(np.isnan(age), PLANE_FILLS["plane_age"], age).astype("int16")
    seats, engines = attributes[:, 1], attributes[:, 2]
    columns["seats"] = np.where(np.isnan(seats), PLANE_FILLS["seats"], seats).astype("int16")
    columns["engines"] = np.where(np.isnan(engines), PLANE_FILLS["engines"], engines).astype("int8")

    # Trailing aggregates over [departure - window, departure), per carrier and per origin.
    check_window(store.window)
    for group in HISTORY_GROUPS:
        values = [getattr(f, group) for f in flights]
        arrived = np.zeros(count, dtype="int64")
        late = np.zeros(count, dtype="int64")
        for value in dict.fromkeys(values):
            rows = np.fromiter((v == value for v in values), "bool", count)
            arrived[rows], late[rows] = store.trailing(group, value, departure[rows])
        rate = np.where(arrived > 0, late / np.maximum(arrived, 1), EMPTY_WINDOW_RATE)
        columns[flights_column(group)] = arrived
        columns[rate_column(group)] = rate.astype("float64")

    _check_finite({"distance": distance, **{name: weather[name] for name in WEATHER_COLUMNS}})
    return pd.DataFrame({name: columns[name] for name in FEATURE_COLUMNS})


def _check_finite(columns: dict[str, np.ndarray]) -> None:
    """What compute_features' check_complete says of a stored reading that is infinite (the
    other numeric features are integers, fills or rates, always finite)."""
    problems = []
    for name, values in columns.items():
        bad = int((~np.isfinite(values)).sum())
        if bad:
            problems.append(f"{name} ({bad} rows)")
    if problems:
        raise FeatureInputError(f"features with missing or infinite values: {', '.join(problems)}")
