"""An embedded online store in one SQLite file (stdlib, no server).

It holds exactly what `compute_features` looks up, keyed the way a request asks for it:

- weather by (origin, time_hour), time_hour as UTC nanoseconds;
- planes by tailnum;
- the known airports with their time zones (`airports`), which also say which destinations are
  valid;
- arrival events (carrier, origin, arrival in UTC nanoseconds, delayed) of every flight that
  arrived, indexed by group and arrival, so that a request's point-in-time window
  [departure - window, departure) is two range scans;
- `meta`: the trailing window (days) the offline table was built with.

Values are stored as written (REAL is an IEEE double), so lookups read back the same floats the
offline build joined: the online features equal the offline ones exactly. Another backend (Redis,
DynamoDB) only needs to answer the same four lookups; see services/serve/README.md.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from feature_definitions.features import Lookups
from feature_definitions.history import EVENT_COLUMNS, HISTORY_GROUPS
from feature_definitions.instants import EXTRA_TIMEZONES, utc_instants
from feature_definitions.planes import PLANE_LOOKUP_COLUMNS
from feature_definitions.weather import WEATHER_COLUMNS
from storage.atomic import atomic_output

FORMAT = 1
STORE_FILE = "online.sqlite"
# SQLite allows 32,766 host parameters per statement; stay well below.
_CHUNK = 500


class OnlineStoreError(ValueError):
    """The store file is missing, unreadable or of another format."""


def _ns(instants: pd.Series) -> np.ndarray:
    values: np.ndarray = utc_instants(instants).to_numpy(dtype="datetime64[ns]").astype("int64")
    return values


def _rows(frame: pd.DataFrame) -> Iterable[tuple[object, ...]]:
    """Rows as Python values, missing values as None (SQL NULL)."""
    as_object = frame.astype(object).where(frame.notna(), None)
    return (tuple(row) for row in as_object.itertuples(index=False, name=None))


def write_store(
    path: Path,
    weather: pd.DataFrame,
    planes: pd.DataFrame,
    airports: pd.DataFrame,
    events: pd.DataFrame,
    window: pd.Timedelta,
) -> dict[str, int]:
    """Write the store to `path` atomically; return the rows per table. `events` is
    `feature_definitions.history.arrival_events` of the arrived flights (events without an
    arrival instant never count and are left out)."""
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
    with atomic_output(path) as tmp:
        tmp.unlink()
        with sqlite3.connect(tmp) as db:
            db.executescript(
                f"""
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE weather (
                  origin TEXT NOT NULL, time_hour INTEGER NOT NULL, {reading_columns},
                  PRIMARY KEY (origin, time_hour)) WITHOUT ROWID;
                CREATE TABLE planes (
                  tailnum TEXT PRIMARY KEY, year REAL, seats REAL, engines REAL) WITHOUT ROWID;
                CREATE TABLE airports (faa TEXT PRIMARY KEY, tzone TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE events (
                  carrier TEXT NOT NULL, origin TEXT NOT NULL,
                  arrival INTEGER NOT NULL, delayed INTEGER NOT NULL);
                """
            )
            marks = ", ".join("?" for _ in weather_rows.columns)
            db.executemany(f"INSERT INTO weather VALUES ({marks})", _rows(weather_rows))
            db.executemany("INSERT INTO planes VALUES (?, ?, ?, ?)", _rows(plane_rows))
            db.executemany("INSERT INTO airports VALUES (?, ?)", _rows(zones))
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", _rows(event_rows))
            for group in HISTORY_GROUPS:
                db.execute(f"CREATE INDEX events_{group} ON events ({group}, arrival)")
            meta = {"format": str(FORMAT), "window_ns": str(int(window.value))}
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        db.close()
    return {
        "weather": len(weather_rows),
        "planes": len(plane_rows),
        "airports": len(zones),
        "events": len(event_rows),
    }


class OnlineStore:
    """Read-only access to a store file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise OnlineStoreError(f"no online store at {path}")
        try:
            self._db = sqlite3.connect(
                f"file:{path.absolute()}?mode=ro", uri=True, check_same_thread=False
            )
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            self.airports: dict[str, str] = dict(
                self._db.execute("SELECT faa, tzone FROM airports").fetchall()
            )
        except sqlite3.Error as error:
            raise OnlineStoreError(f"{path}: not an online store ({error})") from None
        if meta.get("format") != str(FORMAT):
            raise OnlineStoreError(f"{path}: format {meta.get('format')!r}, expected {FORMAT}")
        self.window = pd.Timedelta(int(meta["window_ns"]), unit="ns")
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def _select(self, sql: str, keys: Sequence[object], width: int) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        with self._lock:
            for start in range(0, len(keys), _CHUNK * width):
                chunk = keys[start : start + _CHUNK * width]
                marks = ", ".join(
                    "(" + ", ".join("?" for _ in range(width)) + ")"
                    for _ in range(len(chunk) // width)
                )
                rows += self._db.execute(sql.format(marks=marks), list(chunk)).fetchall()
        return rows

    def lookups(self, flights: pd.DataFrame, departure: pd.Series) -> Lookups:
        """What compute_features needs for `flights` (origin, time_hour, tailnum and the
        HISTORY_GROUPS columns), each leaving at instant `departure`."""
        keys = pd.DataFrame(
            {"origin": flights["origin"].astype(str), "time_hour": _ns(flights["time_hour"])}
        ).drop_duplicates()
        flat = [v for pair in keys.itertuples(index=False, name=None) for v in pair]
        weather = pd.DataFrame(
            self._select(
                f"SELECT origin, time_hour, {', '.join(WEATHER_COLUMNS)} FROM weather "
                "WHERE (origin, time_hour) IN (VALUES {marks})",
                [int(v) if not isinstance(v, str) else v for v in flat],
                2,
            ),
            columns=["origin", "time_hour", *WEATHER_COLUMNS],
        )
        weather["time_hour"] = pd.to_datetime(weather["time_hour"].astype("int64"), utc=True)
        weather = weather.astype({c: "float64" for c in WEATHER_COLUMNS})
        tailnums = sorted(set(flights["tailnum"].dropna().astype(str)))
        planes = pd.DataFrame(
            self._select(
                "SELECT tailnum, year, seats, engines FROM planes WHERE tailnum IN "
                "(SELECT column1 FROM (VALUES {marks}))",
                tailnums,
                1,
            ),
            columns=list(PLANE_LOOKUP_COLUMNS),
        ).astype({c: "float64" for c in PLANE_LOOKUP_COLUMNS[1:]})
        return Lookups(weather=weather, planes=planes, events=self._events(flights, departure))

    def _events(self, flights: pd.DataFrame, departure: pd.Series) -> pd.DataFrame:
        """Every event of a requested group arriving in [earliest departure - window, latest
        departure): a superset of each flight's own window, which history_features narrows."""
        start = int(departure.min().value - self.window.value)
        end = int(departure.max().value)
        parts = []
        with self._lock:
            for group in HISTORY_GROUPS:
                for value in sorted(set(flights[group].astype(str))):
                    parts += self._db.execute(
                        "SELECT rowid, carrier, origin, arrival, delayed FROM events "
                        f"WHERE {group} = ? AND arrival >= ? AND arrival < ?",
                        (value, start, end),
                    ).fetchall()
        columns = ["rowid", *HISTORY_GROUPS, "arrival", "delayed"]
        events = pd.DataFrame(parts, columns=columns).drop_duplicates("rowid")
        events = events.sort_values("rowid")[list(EVENT_COLUMNS)].reset_index(drop=True)
        events = events.astype({group: "string" for group in HISTORY_GROUPS})
        events["arrival"] = pd.to_datetime(events["arrival"].astype("int64"), utc=True).astype(
            "datetime64[ns, UTC]"
        )
        events["delayed"] = events["delayed"].astype("int8")
        return events
