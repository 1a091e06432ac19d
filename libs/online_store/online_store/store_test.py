import re
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feature_definitions.errors import FeatureInputError
from feature_definitions.weather import (
    WEATHER_COLUMNS,
    WEATHER_LEAD,
    origins_without_weather,
    weather_features,
    weather_hour,
)
from online_store.store import (
    HORIZON_ALLOWANCE,
    BeforeDataStart,
    OnlineStore,
    OnlineStoreError,
    PastHorizon,
    data_horizon,
    data_start,
    flight_origins,
    write_store,
)

# The data horizon of the stores written here: every arrival before it is in _inputs' events.
HORIZON = pd.Timestamp("2013-01-01T10:00Z")
# Their data start: every arrival after it is in _inputs' events; with a 7-day window, the
# earliest departure looked up is a week later.
START = pd.Timestamp("2012-12-01T00:00Z")
WEEK = pd.Timedelta(days=7)
# The origins the flights of the stores written here left from: _inputs' weather has both.
ORIGINS = ("EWR", "JFK")


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


def _store(
    path: Path, allowance: pd.Timedelta = HORIZON_ALLOWANCE, window: pd.Timedelta = WEEK
) -> OnlineStore:
    rows = write_store(path, *_inputs(), window, HORIZON, START, ORIGINS)
    assert rows == {"weather": 2, "planes": 2, "airports": 5, "origins": 2, "events": 3}
    return OnlineStore(path, allowance)


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
    # The weather of a flight is its weather_hour's, a day before it leaves.
    lookups = store.lookups(
        flights.assign(time_hour=flights["time_hour"] + WEATHER_LEAD), departure
    )
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
        ("DELETE FROM meta WHERE key = 'horizon_ns'", "damaged, it holds no 'horizon_ns'"),
        ("UPDATE meta SET value = 'soon' WHERE key = 'horizon_ns'", "damaged \\(invalid literal"),
        ("DELETE FROM meta WHERE key = 'start_ns'", "damaged, it holds no 'start_ns'"),
        ("UPDATE meta SET value = 'early' WHERE key = 'start_ns'", "damaged \\(invalid literal"),
        # A store of the format before the horizon was recorded: no default horizon stands in.
        (
            "UPDATE meta SET value = '1' WHERE key = 'format'; "
            "DELETE FROM meta WHERE key IN ('horizon_ns', 'start_ns')",
            "format '1', expected 4 \\(written before the store recorded its data horizon: "
            "rebuild it",
        ),
        # Nor a default start: the store of format 2, before the data start was recorded.
        (
            "UPDATE meta SET value = '2' WHERE key = 'format'; "
            "DELETE FROM meta WHERE key = 'start_ns'",
            "format '2', expected 4 \\(written before the store recorded its data start: "
            "rebuild it from the curated data, dvc repro online_store\\)$",
        ),
        # Nor a default list of origins: the store of format 3, which could not tell an origin
        # with flights but no weather from one it has no flights of.
        (
            "UPDATE meta SET value = '3' WHERE key = 'format'; DROP TABLE origins",
            "format '3', expected 4 \\(written before the store recorded the origins its "
            "flights left from: rebuild it from the curated data, dvc repro online_store\\)$",
        ),
        ("UPDATE meta SET value = '5' WHERE key = 'format'", "format '5', expected 4$"),
        ("UPDATE meta SET value = 'seven' WHERE key = 'window_ns'", "damaged \\(invalid literal"),
        ("UPDATE events SET arrival = 'x'", "damaged \\("),
        ("DROP TABLE planes", "not an online store \\(no such table: planes\\)"),
        ("DROP TABLE events", "not an online store \\(no such table: events\\)"),
        ("DROP TABLE origins", "not an online store \\(no such table: origins\\)"),
        # Written before write_store refused such a window, it would count every earlier arrival.
        ("UPDATE meta SET value = '0' WHERE key = 'window_ns'", "damaged \\(the window must be"),
    ],
)
def test_a_damaged_store_is_named(tmp_path: Path, damage: str, named: str) -> None:
    # Before, the first three raised a bare KeyError or ValueError naming no file.
    path = tmp_path / "online.sqlite"
    _store(path)
    with sqlite3.connect(path) as db:
        db.executescript(damage)
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
        write_store(path, weather, planes, airports, events, window, HORIZON, START, ORIGINS)
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


def test_the_store_records_its_data_horizon(tmp_path: Path) -> None:
    store = _store(tmp_path / "online.sqlite")
    assert store.horizon == HORIZON and store.horizon.tzinfo is not None
    assert store.allowance == HORIZON_ALLOWANCE == pd.Timedelta(days=1)


def test_the_store_records_its_data_start(tmp_path: Path) -> None:
    store = _store(tmp_path / "online.sqlite")
    assert store.start == START and str(store.start.tzinfo) == "UTC"


def test_the_data_horizon_is_the_latest_scheduled_departure_of_any_flight() -> None:
    # A cancelled flight is seen too; the departure's minutes come from sched_dep_time.
    flights = pd.DataFrame(
        {
            "origin": ["EWR", "JFK", "EWR"],
            "time_hour": _utc("2013-11-30T22:00Z", "2013-12-01T04:00Z", "2013-11-01T10:00Z"),
            "sched_dep_time": [1700, 2359, 600],
            "dep_time": [1702.0, np.nan, 600.0],
        }
    )
    assert data_horizon(flights) == pd.Timestamp("2013-12-01T04:59Z")
    with pytest.raises(FeatureInputError, match="no flights: a store built from them"):
        data_horizon(flights.iloc[:0])


def test_origins_without_weather_are_named_with_their_flights() -> None:
    """Before, data_horizon raised FeatureInputError for them: one station's missing feed
    failed the build, and the served store of every origin aged until it resumed."""
    flights = pd.DataFrame(
        {
            "origin": ["EWR", "JFK", "LGA", "JFK"],
            "time_hour": _utc(
                "2013-12-31T22:00Z", "2014-01-01T04:00Z", "2013-12-30T10:00Z", "2013-12-30T10:00Z"
            ),
            "sched_dep_time": [1700, 2359, 500, 500],
        }
    )
    weather = _hourly_weather(["EWR", "JFK", "LGA"], "2013-12-30T00:00Z", "2013-12-30T05:00Z")
    # The horizon is the flights' whatever the weather (each origin's is the store's to hold).
    assert data_horizon(flights) == pd.Timestamp("2014-01-01T04:59Z")
    assert flight_origins(flights) == ["EWR", "JFK", "LGA"]
    assert origins_without_weather(flights, weather) == {}
    assert origins_without_weather(flights, weather[weather["origin"] != "JFK"]) == {"JFK": 2}
    assert origins_without_weather(flights, weather[weather["origin"] == "LGA"]) == {
        "EWR": 1,
        "JFK": 2,
    }


def test_one_origins_weather_ending_early_holds_back_only_its_flights(tmp_path: Path) -> None:
    """A station out: JFK's weather ends two days before the flights. Before, the store's one
    horizon was JFK's end, and EWR's flights of the next two days were refused with it."""
    _, planes, airports, events = _inputs()
    weather = pd.concat(
        [
            _hourly_weather(["EWR"], "2012-12-20T00:00Z", HORIZON.isoformat()),
            _hourly_weather(["JFK"], "2012-12-20T00:00Z", "2012-12-30T10:00Z"),
        ],
        ignore_index=True,
    )
    path = tmp_path / "online.sqlite"
    write_store(path, weather, planes, airports, events, WEEK, HORIZON, START, ORIGINS)
    store = OnlineStore(path)
    jfk = pd.Timestamp("2012-12-30T10:59Z")
    assert store.horizon == HORIZON
    assert store.horizons == {"EWR": HORIZON, "JFK": jfk}
    assert store.earliest_horizon == jfk
    # LGA: no weather in the store (no flights either), held to the flights horizon alone.
    assert store.horizon_of("LGA") == HORIZON
    last = HORIZON + HORIZON_ALLOWANCE
    store.check_departures(np.array([last.value, last.value]), ["EWR", "LGA"])
    departures = np.array([last.value, (jfk + HORIZON_ALLOWANCE).value, last.value])
    with pytest.raises(PastHorizon) as refused:
        store.check_departures(departures, ["EWR", "JFK", "JFK"])
    assert [(late.position, late.origin, late.horizon) for late in refused.value.past] == [
        (2, "JFK", jfk)
    ]
    assert "past the online store's data horizon at JFK 2012-12-30T10:59:00+00:00" in str(
        refused.value
    )
    # The history counts read no weather: up to the flights horizon plus the allowance.
    assert store.trailing("origin", "JFK", np.array([last.value]))[0].tolist() == [0]
    with pytest.raises(ValueError, match="2 departures but 1 origins"):
        store.check_departures(departures[:2], ["EWR"])


def test_an_origin_with_flights_but_no_weather_has_every_flight_refused(tmp_path: Path) -> None:
    """Before, such a store was not built (data_horizon's FeatureInputError) and every origin's
    served store aged; a format-3 store could not have told LGA from an origin it has no flights
    of, whose flights are held to the flights horizon and get the weather fills."""
    weather, planes, airports, events = _inputs()
    path = tmp_path / "online.sqlite"
    write_store(path, weather, planes, airports, events, WEEK, HORIZON, START, [*ORIGINS, "LGA"])
    store = OnlineStore(path)
    assert store.origins == {"EWR", "JFK", "LGA"} and store.weatherless == ("LGA",)
    assert store.horizons == {"EWR": HORIZON, "JFK": HORIZON}
    assert store.earliest_horizon == HORIZON
    with pytest.raises(ValueError, match="holds no weather at LGA: it has no horizon"):
        store.horizon_of("LGA")
    # BOS: no flights, no weather: the flights horizon, as before.
    assert store.horizon_of("BOS") == HORIZON
    first = START + WEEK
    departures = np.array([first.value, HORIZON.value, first.value, HORIZON.value])
    store.check_departures(departures, ["EWR", "JFK", "BOS", "BOS"])
    with pytest.raises(PastHorizon) as refused:
        store.check_departures(departures, ["EWR", "LGA", "JFK", "LGA"])
    assert [(late.position, late.origin, late.horizon) for late in refused.value.past] == [
        (1, "LGA", None),
        (3, "LGA", None),
    ]
    assert refused.value.reason(refused.value.past[0]) == (
        f"departure {HORIZON.isoformat()} is from LGA, and the online store holds no weather at "
        "LGA: its flights had none when the store was built"
    )
    # The reference path's lookups refuse it the same way.
    flights = pd.DataFrame(
        {"origin": ["LGA"], "time_hour": _utc(first.floor("h").isoformat()), "tailnum": ["N1"],
         "carrier": ["UA"]}
    )  # fmt: skip
    with pytest.raises(PastHorizon, match="holds no weather at LGA"):
        store.lookups(flights, pd.Series([first]))
    # The history counts name no origin and read no weather: LGA's are counted as before.
    assert store.trailing("origin", "LGA", np.array([HORIZON.value]))[0].tolist() == [0]


_POOL = ("EWR", "JFK", "LGA", "BOS")


@settings(max_examples=60, deadline=None)
@given(
    presence=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=4, max_size=4),
    asked=st.lists(
        st.tuples(st.sampled_from(_POOL), st.integers(0, int((HORIZON - START - WEEK).value))),
        min_size=1,
        max_size=12,
    ),
)
def test_exactly_the_weatherless_origins_flights_are_refused(
    presence: list[tuple[bool, bool]], asked: list[tuple[str, int]]
) -> None:
    """For each origin of _POOL, flights or not and weather or not (up to the horizon's hour):
    a departure within [start + window, horizon] is refused iff its origin had flights and no
    weather."""
    flown = [origin for origin, (flights, _) in zip(_POOL, presence, strict=True) if flights]
    observed = [origin for origin, (_, weather) in zip(_POOL, presence, strict=True) if weather]
    weather = _hourly_weather(observed, "2012-12-31T00:00Z", HORIZON.isoformat())
    _, planes, airports, events = _inputs()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "online.sqlite"
        write_store(path, weather, planes, airports, events, WEEK, HORIZON, START, flown)
        store = OnlineStore(path)
    weatherless = sorted(set(flown) - set(observed))
    origins = [origin for origin, _ in asked]
    departures = np.array([(START + WEEK).value + offset for _, offset in asked], dtype="int64")
    expected = [i for i, origin in enumerate(origins) if origin in weatherless]
    if expected:
        with pytest.raises(PastHorizon) as refused:
            store.check_departures(departures, origins)
        assert [late.position for late in refused.value.past] == expected
        for late in refused.value.past:
            assert late.horizon is None
            assert f"holds no weather at {late.origin}:" in refused.value.reason(late)
    else:
        store.check_departures(departures, origins)
    assert list(store.weatherless) == weatherless


def test_the_origins_of_a_lookup_are_a_sequence_of_names_not_one_name(tmp_path: Path) -> None:
    """Before, a name given for the origins (a str is a Sequence[str]) was read a letter per
    departure: three departures from "JFK" were checked as from J, F and K, origins the store
    holds no weather of, so against the flights horizon, and JFK's late flight was accepted."""
    _, planes, airports, events = _inputs()
    weather = pd.concat(
        [
            _hourly_weather(["EWR"], "2012-12-20T00:00Z", HORIZON.isoformat()),
            _hourly_weather(["JFK"], "2012-12-20T00:00Z", "2012-12-30T10:00Z"),
        ],
        ignore_index=True,
    )
    write_store(
        tmp_path / "online.sqlite", weather, planes, airports, events, WEEK, HORIZON, START, ORIGINS
    )
    store = OnlineStore(tmp_path / "online.sqlite")
    last = (HORIZON + HORIZON_ALLOWANCE).value
    with pytest.raises(
        TypeError, match="origins must be one name per departure, not the str 'JFK'"
    ):
        store.check_departures(np.array([last, last, last]), "JFK")


def _hourly_weather(origins: list[str], first: str, last: str) -> pd.DataFrame:
    hours = pd.date_range(first, last, freq="h")
    weather = pd.DataFrame(
        {"origin": np.repeat(origins, len(hours)), "time_hour": np.tile(hours, len(origins))}
    )
    for column in WEATHER_COLUMNS:
        weather[column] = 1.0
    return weather


def test_the_data_start_is_the_earliest_scheduled_departure_of_any_flight() -> None:
    # A cancelled flight is seen too; in New York's time the earliest is the one at 05:00 UTC.
    flights = pd.DataFrame(
        {
            "time_hour": _utc("2013-11-01T10:00Z", "2013-11-01T05:00Z", "2013-11-30T22:00Z"),
            "sched_dep_time": [600, 59, 1700],
            "dep_time": [600.0, np.nan, 1702.0],
        }
    )
    assert data_start(flights) == pd.Timestamp("2013-11-01T05:59Z")
    with pytest.raises(FeatureInputError, match="no flights: a store built from them has no data"):
        data_start(flights.iloc[:0])


@pytest.mark.parametrize(
    "horizon", [pd.NaT, pd.Timestamp("2013-01-01T10:00"), "2013-01-01T10:00Z", None]
)
def test_a_horizon_that_is_no_aware_instant_is_refused(tmp_path: Path, horizon: object) -> None:
    path = tmp_path / "online.sqlite"
    with pytest.raises(FeatureInputError, match="the data horizon must be an instant with a time"):
        write_store(path, *_inputs(), WEEK, horizon, START, ORIGINS)  # type: ignore[arg-type]
    assert not path.exists()


@pytest.mark.parametrize(
    "start", [pd.NaT, pd.Timestamp("2012-12-01T00:00"), "2012-12-01T00:00Z", None]
)
def test_a_start_that_is_no_aware_instant_is_refused(tmp_path: Path, start: object) -> None:
    path = tmp_path / "online.sqlite"
    with pytest.raises(FeatureInputError, match="the data start must be an instant with a time"):
        write_store(path, *_inputs(), WEEK, HORIZON, start, ORIGINS)  # type: ignore[arg-type]
    assert not path.exists()


@pytest.mark.parametrize("odd", [None, np.nan, 1])
def test_an_origin_that_is_no_airport_code_is_refused_by_name(tmp_path: Path, odd: object) -> None:
    """Before, sorting the origins raised a TypeError naming no origin for anything beside a
    string (the check that names them ran after the sort), and nothing said which input."""
    path = tmp_path / "online.sqlite"
    with pytest.raises(
        FeatureInputError,
        match=re.escape(f"the flights' origins must be airport codes, got [{odd!r}]"),
    ):
        write_store(path, *_inputs(), WEEK, HORIZON, START, [*ORIGINS, odd])  # type: ignore[list-item]
    assert not path.exists()


def test_the_origins_written_are_a_collection_of_names_not_one_name(tmp_path: Path) -> None:
    """Before, a name given for the origins (a str is an Iterable[str]) was stored a letter per
    origin: the store recorded L, G and A, so LGA, which it holds no weather of, was taken for
    an origin it has no flights of and its flights were accepted with the weather fills."""
    weather, planes, airports, events = _inputs()
    path = tmp_path / "online.sqlite"
    with pytest.raises(
        FeatureInputError,
        match="the flights' origins must be a collection of airport codes, not the str 'LGA'",
    ):
        write_store(path, weather, planes, airports, events, WEEK, HORIZON, START, "LGA")
    assert not path.exists()


def test_a_start_after_the_horizon_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "online.sqlite"
    later = HORIZON + pd.Timedelta(hours=1)
    with pytest.raises(
        FeatureInputError,
        match="the data start 2013-01-01T11:00:00\\+00:00 is after the data horizon 2013-01-01T10",
    ):
        write_store(path, *_inputs(), WEEK, HORIZON, later, ORIGINS)
    assert not path.exists()
    # The same instant is a store of one moment's flights.
    write_store(path, *_inputs(), WEEK, HORIZON, HORIZON, ORIGINS)
    assert OnlineStore(path).start == HORIZON


def test_a_departure_within_the_allowance_is_counted_as_before(tmp_path: Path) -> None:
    store = _store(tmp_path / "online.sqlite")
    last = HORIZON + HORIZON_ALLOWANCE
    arrived, late = store.trailing("carrier", "UA", np.array([HORIZON.value, last.value]))
    assert arrived.tolist() == [1, 1] and late.tolist() == [1, 1]
    flights = pd.DataFrame(
        {"origin": ["EWR"], "time_hour": _utc("2013-01-02T10:00Z"), "tailnum": ["N1"],
         "carrier": ["UA"]}
    )  # fmt: skip
    assert len(store.lookups(flights, pd.Series([last])).events) == 2


def test_a_departure_past_the_horizon_and_allowance_is_refused_naming_both(
    tmp_path: Path,
) -> None:
    # Before, its window ran past the data: UA's count was 0, an empty window, without a word.
    store = _store(tmp_path / "online.sqlite")
    late = HORIZON + HORIZON_ALLOWANCE + pd.Timedelta(minutes=1)
    ends = np.array([HORIZON.value, late.value, pd.Timestamp("2013-01-09T10:00Z").value])
    with pytest.raises(PastHorizon) as refused:
        store.trailing("carrier", "UA", ends)
    assert [(late.position, late.departure.isoformat()) for late in refused.value.past] == [
        (1, "2013-01-02T10:01:00+00:00"),
        (2, "2013-01-09T10:00:00+00:00"),
    ]
    assert refused.value.reason(refused.value.past[0]) == (
        "departure 2013-01-02T10:01:00+00:00 is past the online store's data horizon "
        "2013-01-01T10:00:00+00:00 by more than the allowance of 1 day: its trailing window "
        "would count arrivals the store has not seen"
    )
    assert str(refused.value).startswith("1: departure 2013-01-02T10:01:00+00:00 is past")
    flights = pd.DataFrame(
        {"origin": ["EWR"], "time_hour": _utc("2013-01-02T10:00Z"), "tailnum": ["N1"],
         "carrier": ["UA"]}
    )  # fmt: skip
    with pytest.raises(PastHorizon) as refused:
        store.lookups(flights, pd.Series([late]))
    assert str(refused.value) == (
        "0: departure 2013-01-02T10:01:00+00:00 is past the online store's data horizon at EWR "
        "2013-01-01T10:00:00+00:00 by more than the allowance of 1 day: the store lacks EWR's "
        "weather a day before it, or arrivals its trailing window would count"
    )
    # Even where the group has no events at all.
    with pytest.raises(PastHorizon):
        store.trailing("carrier", "B6", ends)


def test_the_allowance_is_the_stores_to_choose_and_never_negative(tmp_path: Path) -> None:
    exact = _store(tmp_path / "online.sqlite", pd.Timedelta(0))
    exact.check_departures(np.array([HORIZON.value]), ["EWR"])
    with pytest.raises(PastHorizon, match="allowance of 0 hours"):
        exact.check_departures(np.array([HORIZON.value + 1]), ["EWR"])
    hours = _store(tmp_path / "online.sqlite", pd.Timedelta(hours=6))
    with pytest.raises(PastHorizon, match="allowance of 6 hours"):
        hours.check_departures(np.array([(HORIZON + pd.Timedelta(hours=7)).value]), ["JFK"])
    for bad in (pd.Timedelta(hours=-1), pd.NaT, 3600):
        with pytest.raises(ValueError, match="the horizon allowance must be a duration >= 0"):
            OnlineStore(tmp_path / "online.sqlite", bad)  # type: ignore[arg-type]
    # Blamed on the file before: the sum overflowed inside the store's reading.
    with pytest.raises(ValueError, match="the horizon allowance 100000 days 00:00:00 runs past"):
        OnlineStore(tmp_path / "online.sqlite", pd.Timedelta(days=100_000))


_STORES: dict[int, OnlineStore] = {}


@given(
    allowance_minutes=st.sampled_from([0, 1, 60, 24 * 60, 3 * 24 * 60]),
    offset_ns=st.integers(-(10**15), 10**15) | st.integers(-5, 5),
)
def test_refused_exactly_when_past_horizon_plus_allowance(
    tmp_path_factory: pytest.TempPathFactory, allowance_minutes: int, offset_ns: int
) -> None:
    allowance = pd.Timedelta(minutes=allowance_minutes)
    if allowance_minutes not in _STORES:
        path = tmp_path_factory.mktemp("horizon") / "online.sqlite"
        _STORES[allowance_minutes] = _store(path, allowance)
    store = _STORES[allowance_minutes]
    # Instants around the horizon plus the allowance, to the nanosecond.
    departure = int((HORIZON + allowance).value) + offset_ns
    if offset_ns > 0:
        with pytest.raises(PastHorizon):
            store.trailing("origin", "EWR", np.array([departure]))
    else:
        # Counted as before: EWR's two arrivals inside [departure - 7 days, departure).
        arrivals = [pd.Timestamp(t).value for t in ("2013-01-01T09:00Z", "2013-01-01T09:30Z")]
        week = pd.Timedelta(days=7).value
        expected = sum(departure - week <= a < departure for a in arrivals)
        assert store.trailing("origin", "EWR", np.array([departure]))[0].tolist() == [expected]


def test_a_departure_whose_window_starts_before_the_data_start_is_refused_naming_it(
    tmp_path: Path,
) -> None:
    # Before, its window ran before the data: counted over the part after the start, down to an
    # empty window (0 flights, the empty window's rate) without a word.
    store = _store(tmp_path / "online.sqlite")
    first = START + WEEK
    early = first - pd.Timedelta(minutes=1)
    ends = np.array([first.value, early.value, pd.Timestamp("1970-01-01T00:00Z").value])
    with pytest.raises(BeforeDataStart) as refused:
        store.trailing("carrier", "UA", ends)
    assert [(i, when.isoformat()) for i, when in refused.value.before] == [
        (1, "2012-12-07T23:59:00+00:00"),
        (2, "1970-01-01T00:00:00+00:00"),
    ]
    assert refused.value.start == START and refused.value.window == WEEK
    assert refused.value.reason(refused.value.before[0][1]) == (
        "departure 2012-12-07T23:59:00+00:00 is earlier than the online store's data start "
        "2012-12-01T00:00:00+00:00 plus the trailing window of 7 days: its trailing window "
        "would count arrivals from before the store's data"
    )
    assert str(refused.value).startswith("1: departure 2012-12-07T23:59:00+00:00 is earlier")
    assert not isinstance(refused.value, PastHorizon)
    flights = pd.DataFrame(
        {"origin": ["EWR"], "time_hour": _utc("2012-12-07T23:00Z"), "tailnum": ["N1"],
         "carrier": ["UA"]}
    )  # fmt: skip
    with pytest.raises(BeforeDataStart, match="0: departure 2012-12-07T23:59:00"):
        store.lookups(flights, pd.Series([early]))
    # Even where the group has no events at all.
    with pytest.raises(BeforeDataStart):
        store.trailing("carrier", "B6", ends)
    # From start + window on, counted (nothing of UA's arrived in that week).
    assert store.trailing("carrier", "UA", ends[:1])[0].tolist() == [0]
    assert len(store.lookups(flights, pd.Series([first])).events) == 0


def test_a_lookup_both_past_the_horizon_and_before_the_start_is_refused_for_the_horizon(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path / "online.sqlite")
    late = HORIZON + HORIZON_ALLOWANCE + pd.Timedelta(minutes=1)
    with pytest.raises(PastHorizon) as refused:
        store.check_departures(np.array([START.value, HORIZON.value, late.value]), ["EWR"] * 3)
    assert [late.position for late in refused.value.past] == [2]


_WINDOW_STORES: dict[int, OnlineStore] = {}


@given(
    window_minutes=st.sampled_from([1, 60, 24 * 60, 7 * 24 * 60]),
    offset_ns=st.integers(-(10**15), 10**15) | st.integers(-5, 5),
)
def test_refused_exactly_when_the_window_starts_before_the_data_start(
    tmp_path_factory: pytest.TempPathFactory, window_minutes: int, offset_ns: int
) -> None:
    window = pd.Timedelta(minutes=window_minutes)
    if window_minutes not in _WINDOW_STORES:
        path = tmp_path_factory.mktemp("start") / "online.sqlite"
        _WINDOW_STORES[window_minutes] = _store(path, window=window)
    store = _WINDOW_STORES[window_minutes]
    # Instants around the data start plus the window, to the nanosecond.
    departure = int((START + window).value) + offset_ns
    if offset_ns < 0:
        with pytest.raises(BeforeDataStart):
            store.trailing("origin", "EWR", np.array([departure]))
    else:
        # Counted as before: EWR's two arrivals inside [departure - window, departure).
        arrivals = [pd.Timestamp(t).value for t in ("2013-01-01T09:00Z", "2013-01-01T09:30Z")]
        expected = sum(departure - window.value <= a < departure for a in arrivals)
        assert store.trailing("origin", "EWR", np.array([departure]))[0].tolist() == [expected]


def test_the_default_allowance_is_within_the_weather_lead() -> None:
    # A longer allowance would accept flights whose weather hour is past the data (ADR 0019).
    assert HORIZON_ALLOWANCE <= WEATHER_LEAD


# A store as `feature online-store` builds one: weather in every hour from its data start's
# to its data horizon's (the curated weather of the same days as the flights), the horizon and
# the start at a flight's minutes, and the shortest window, a day.
_COVERED_START = pd.Timestamp("2012-12-25T05:17Z")
_COVERED_HORIZON = pd.Timestamp("2013-01-01T04:59Z")
_COVERED_WINDOW = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def covered(tmp_path_factory: pytest.TempPathFactory) -> OnlineStore:
    hours = pd.date_range(_COVERED_START.floor("h"), _COVERED_HORIZON.floor("h"), freq="h")
    weather = pd.DataFrame(
        {"origin": np.repeat(["EWR", "JFK"], len(hours)), "time_hour": np.tile(hours, 2)}
    )
    for i, column in enumerate(WEATHER_COLUMNS):
        weather[column] = 0.5 + i
    _, planes, airports, events = _inputs()
    path = tmp_path_factory.mktemp("covered") / "online.sqlite"
    write_store(path, weather, planes, airports, events, _COVERED_WINDOW, _COVERED_HORIZON,
                _COVERED_START, ORIGINS)  # fmt: skip
    return OnlineStore(path)


_FIRST = _COVERED_START + _COVERED_WINDOW
_LAST = _COVERED_HORIZON + HORIZON_ALLOWANCE
_MINUTES = int((_LAST - _FIRST) / pd.Timedelta(minutes=1))


@settings(max_examples=300)
@given(minute=st.integers(0, _MINUTES), origin=st.sampled_from(["EWR", "JFK"]))
@example(minute=0, origin="EWR")
@example(minute=_MINUTES, origin="JFK")
def test_every_departure_the_store_accepts_finds_its_lead_hours_weather(
    covered: OnlineStore, minute: int, origin: str
) -> None:
    """Before, a flight was given its departure hour's reading: every one leaving after the
    horizon's hour (all live traffic) found none, and took the fills."""
    departure = _FIRST + pd.Timedelta(minutes=minute)
    covered.check_departures(np.array([departure.value]), [origin])  # accepted
    flights = pd.DataFrame(
        {"origin": [origin], "time_hour": _utc(departure.floor("h").isoformat()),
         "tailnum": ["N1"], "carrier": ["UA"]}
    )  # fmt: skip
    hour = weather_hour(flights["time_hour"]).iloc[0]
    assert covered.weather_at(origin, hour.value) is not None, (departure, hour)
    lookups = covered.lookups(flights, pd.Series([departure]))
    features = weather_features(flights["origin"], flights["time_hour"], lookups.weather)
    assert features["weather_known"].tolist() == [1]
