import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feature_definitions.errors import FeatureInputError
from feature_definitions.weather import WEATHER_COLUMNS
from online_store.store import OnlineStore, OnlineStoreError, write_store


def _utc(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps), utc=True))


def _inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """write_store's weather, planes, airports and events."""
    weather = pd.DataFrame(
        {"origin": ["EWR", "JFK"], "time_hour": _utc("2013-01-01T10:00Z", "2013-01-01T10:00Z")}
    )
    for i, column in enumerate(WEATHER_COLUMNS):
        weather[column] = [0.1 + i, np.nan]
    planes = pd.DataFrame(
        {"tailnum": ["N1", "N2"], "year": pd.array([1999, None], dtype="Int64"),
         "seats": [149, 20], "engines": [2, 1]}
    )  # fmt: skip
    airports = pd.DataFrame({"faa": ["IAH", "XXX"], "tzone": ["America/Chicago", None]})
    events = pd.DataFrame(
        {
            "carrier": pd.array(["UA", "UA", "AA", "UA"], dtype="string"),
            "origin": pd.array(["EWR", "JFK", "EWR", "EWR"], dtype="string"),
            "arrival": pd.Series(
                pd.to_datetime(
                    pd.Series(
                        ["2013-01-01T09:00Z", "2012-12-20T09:00Z", "2013-01-01T09:30Z", None]
                    ),
                    utc=True,
                )
            ),
            "delayed": pd.array([1, 0, 0, 1], dtype="int8"),
        }
    )
    return weather, planes, airports, events


def _store(path: Path) -> OnlineStore:
    rows = write_store(path, *_inputs(), pd.Timedelta(days=7))
    assert rows == {"weather": 2, "planes": 2, "airports": 5, "events": 3}
    return OnlineStore(path)


def test_lookups_read_back_what_was_written(tmp_path: Path) -> None:
    store = _store(tmp_path / "online.sqlite")
    flights = pd.DataFrame(
        {
            "origin": ["EWR", "LGA"],
            "time_hour": _utc("2013-01-01T10:00Z", "2013-01-01T10:00Z"),
            "tailnum": pd.array(["N1", None], dtype="string"),
            "carrier": ["UA", "B6"],
        }
    )
    departure = flights["time_hour"] + pd.Timedelta(minutes=15)
    lookups = store.lookups(flights, departure)
    assert lookups.weather["origin"].tolist() == ["EWR"]
    assert lookups.weather["time_hour"].tolist() == [pd.Timestamp("2013-01-01T10:00Z")]
    assert lookups.weather[WEATHER_COLUMNS[0]].tolist() == [0.1]
    assert lookups.planes["tailnum"].tolist() == ["N1"]
    assert lookups.planes["year"].tolist() == [1999.0]
    # UA's and EWR's events inside [departure - 7 days, departure); the late AA one by origin.
    assert sorted(lookups.events["carrier"].tolist()) == ["AA", "UA"]
    assert lookups.events["arrival"].dt.tz is not None
    assert store.window == pd.Timedelta(days=7)
    # Destinations: the airports with a time zone, and the ones feature_definitions adds.
    assert "IAH" in store.airports and "SJU" in store.airports and "XXX" not in store.airports


def test_a_missing_or_foreign_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OnlineStoreError, match="no online store"):
        OnlineStore(tmp_path / "absent.sqlite")
    (tmp_path / "other.sqlite").write_text("not a database")
    with pytest.raises(OnlineStoreError, match="not an online store"):
        OnlineStore(tmp_path / "other.sqlite")


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ("DELETE FROM meta WHERE key = 'window_ns'", "damaged, it holds no 'window_ns'"),
        ("UPDATE meta SET value = 'seven' WHERE key = 'window_ns'", "damaged \\(invalid literal"),
        ("UPDATE events SET arrival = 'x'", "damaged \\("),
        ("DROP TABLE planes", "not an online store \\(no such table: planes\\)"),
        ("DROP TABLE events", "not an online store \\(no such table: events\\)"),
        # Written before write_store refused such a window, it would count every earlier arrival.
        ("UPDATE meta SET value = '0' WHERE key = 'window_ns'", "damaged \\(the window must be"),
    ],
)
def test_a_damaged_store_is_named(tmp_path: Path, damage: str, named: str) -> None:
    # Before, the first three raised a bare KeyError or ValueError naming no file.
    path = tmp_path / "online.sqlite"
    _store(path)
    with sqlite3.connect(path) as db:
        db.execute(damage)
    db.close()
    with pytest.raises(OnlineStoreError, match=f"{re.escape(str(path))}: {named}"):
        OnlineStore(path)


def _twice(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its first row again at the end."""
    return pd.concat([frame, frame.iloc[:1]], ignore_index=True)


@pytest.mark.parametrize(
    ("weather_twice", "planes_twice", "window", "named"),
    [
        (True, False, pd.Timedelta(days=7), "weather has 1 duplicate \\(origin, time_hour\\) rows"),
        (False, True, pd.Timedelta(days=7), "planes has 1 duplicate tail numbers, e.g. N1"),
        (False, False, pd.Timedelta(0), "window must be positive, got 0 days"),
        (False, False, pd.Timedelta(days=-7), "window must be positive, got -7 days"),
        (False, False, pd.NaT, "window must be positive, got NaT"),
    ],
)
def test_input_the_offline_features_refuse_is_refused_and_nothing_is_written(
    tmp_path: Path, weather_twice: bool, planes_twice: bool, window: pd.Timedelta, named: str
) -> None:
    # Before, a key there twice was a bare sqlite3.IntegrityError, and any window was written.
    path = tmp_path / "online.sqlite"
    _store(path)
    before = path.read_bytes()
    weather, planes, airports, events = _inputs()
    weather = _twice(weather) if weather_twice else weather
    planes = _twice(planes) if planes_twice else planes
    with pytest.raises(FeatureInputError, match=named):
        write_store(path, weather, planes, airports, events, window)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("directory", ["a#b", "q?x", "c%41", "with space"])
def test_a_store_opens_whatever_characters_its_path_holds(tmp_path: Path, directory: str) -> None:
    """It is opened through a file: URI, where these would end or change the path."""
    (tmp_path / directory).mkdir()
    store = _store(tmp_path / directory / "online.sqlite")
    assert store.window == pd.Timedelta(days=7)
    # Opening it created no file elsewhere (an unquoted URI names `a`, `q`, `cA`).
    assert [p.name for p in tmp_path.iterdir()] == [directory]


def test_row_lookups_read_back_what_was_written(tmp_path: Path) -> None:
    store = _store(tmp_path / "online.sqlite")
    hour = int(pd.Timestamp("2013-01-01T10:00Z").value)
    readings = store.weather_at("EWR", hour)
    assert readings is not None and readings[0] == 0.1 and len(readings) == len(WEATHER_COLUMNS)
    assert store.weather_at("JFK", hour) == (None,) * len(WEATHER_COLUMNS)
    assert store.weather_at("LGA", hour) is None
    assert store.plane("N1") == (1999.0, 149.0, 2.0)
    assert store.plane("N2") == (None, 20.0, 1.0)
    assert store.plane("N9") is None
    # [end - 7 days, end): UA's arrival at 09:00 counts after 09:00, not at 09:00 itself; its
    # arrival of 2012-12-20 is older than the window.
    ends = np.array([hour, int(pd.Timestamp("2013-01-01T09:00Z").value)])
    arrived, late = store.trailing("carrier", "UA", ends)
    assert arrived.tolist() == [1, 0] and late.tolist() == [1, 0]
    assert [a.tolist() for a in store.trailing("carrier", "B6", ends)] == [[0, 0], [0, 0]]
    assert store.trailing("origin", "EWR", ends)[0].tolist() == [2, 0]
