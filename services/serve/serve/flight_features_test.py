"""The fast path the service runs (`flight_features`) against the reference (`compute_features`
on the store's lookups, `online_features`): equal frames, value for value and dtype for dtype, on
generated flights and a store with gaps (unobserved hours, missing readings, unknown planes and
carriers, planes built after the flight, daylight-saving nights, windows with no event); and
both against the offline features' weather for flights leaving after the store's data horizon,
as live traffic does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from feature_definitions.errors import FeatureInputError
from feature_definitions.weather import (
    WEATHER_COLUMNS,
    WEATHER_FEATURES,
    WEATHER_LEAD,
    weather_features,
)
from online_store.store import BeforeDataStart, OnlineStore, PastHorizon, write_store
from serve.online_features import (
    CalendarCache,
    flight_features,
    online_features,
    store_refusals,
)
from serve.schema import ORIGINS, Flight, flights_frame
from serve.testing import departure

CARRIERS = ("UA", "AA", "B6")
TAILNUMS = tuple(f"N{i}" for i in range(12))
DESTS = ("IAH", "ORD", "LAX")
# The store's hours: around both daylight-saving changes of 2013 in New York.
SPANS = (("2013-03-01", "2013-03-20"), ("2013-10-25", "2013-11-10"))
# Its data horizon, its last hour: with the default allowance, departures up to a day later are
# scored.
HORIZON = pd.Timestamp("2013-11-10T00:00Z")
# Its data start, its first hour, and its trailing window: departures from START + WINDOW on are
# scored, earlier ones refused.
START = pd.Timestamp("2013-03-01T00:00Z")
WINDOW = pd.Timedelta(days=2)


def _hours() -> pd.DatetimeIndex:
    return pd.DatetimeIndex(
        np.concatenate(
            [pd.date_range(start, end, freq="h", tz="UTC").to_numpy() for start, end in SPANS]
        ),
        tz="UTC",
    )


def _weather(rng: np.random.Generator, hours: pd.DatetimeIndex) -> pd.DataFrame:
    weather = pd.DataFrame(
        {
            "origin": np.repeat(list(ORIGINS), len(hours)),
            "time_hour": np.tile(hours.to_numpy(), len(ORIGINS)),
        }
    )
    weather["time_hour"] = pd.to_datetime(weather["time_hour"], utc=True)
    for column in WEATHER_COLUMNS:
        values = rng.normal(20, 10, len(weather)).round(2)
        values[rng.random(len(weather)) < (0.5 if column == "wind_gust" else 0.1)] = np.nan
        weather[column] = values
    return weather[rng.random(len(weather)) > 0.1]  # unobserved hours


def _upstream_weather() -> pd.DataFrame:
    """The weather the offline features join: the store's, and the days after its horizon,
    which upstream observed after the store was built."""
    later = pd.date_range(
        HORIZON + pd.Timedelta(hours=1), HORIZON + pd.Timedelta(days=3), freq="h", tz="UTC"
    )
    stored = _weather(np.random.default_rng(0), _hours())
    return pd.concat([stored, _weather(np.random.default_rng(1), later)], ignore_index=True)


def _write(path: Path, weather_ends: dict[str, pd.Timestamp] | None = None) -> None:
    """The store; the weather at an origin of `weather_ends` stops at its hour there."""
    rng = np.random.default_rng(0)
    hours = _hours()
    weather = _weather(rng, hours)
    for origin, end in (weather_ends or {}).items():
        weather = weather[(weather["origin"] != origin) | (weather["time_hour"] <= end)]
    planes = pd.DataFrame(
        {
            "tailnum": list(TAILNUMS[:9]),  # the last three are unknown
            "year": pd.array([1990, 2005, 2013, 2014, 2020, None, 1999, 2001, None], "Int64"),
            "seats": pd.array([149, 20, None, 300, 55, 100, 180, 2, 8], "Int64"),
            "engines": pd.array([2, 1, 2, None, 4, 2, 2, 1, 3], "Int64"),
        }
    )
    airports = pd.DataFrame(
        {"faa": list(DESTS), "tzone": ["America/Chicago", "America/Chicago", "America/Los_Angeles"]}
    )
    count = 3000
    # Half the arrivals on whole minutes, where departures and window starts fall.
    offsets = rng.integers(0, 3600 * 10**9, count)
    offsets[: count // 2] -= offsets[: count // 2] % (60 * 10**9)
    arrivals = hours[rng.integers(0, len(hours), count)] + pd.to_timedelta(offsets, unit="ns")
    events = pd.DataFrame(
        {
            "carrier": pd.array(rng.choice(CARRIERS[:2], count), dtype="string"),  # B6 unknown
            "origin": pd.array(rng.choice(ORIGINS, count), dtype="string"),
            "arrival": pd.Series(arrivals).dt.as_unit("ns"),
            "delayed": rng.integers(0, 2, count).astype("int8"),
        }
    )
    write_store(path, weather, planes, airports, events, WINDOW, HORIZON, START, ORIGINS)


@pytest.fixture(scope="module")
def store(store_path: Path) -> OnlineStore:
    return OnlineStore(store_path)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "online.sqlite"
    _write(path)
    return path


def _hhmm() -> st.SearchStrategy[int]:
    return st.builds(lambda h, m: h * 100 + m, st.integers(0, 23), st.integers(0, 59))


# Hours the store knows (UTC, with or without an offset), hours near them, and any hour
# the request model accepts from the store's data start plus the window up to its data horizon
# (an hour later: a time_hour at +05:30 is floored to its half hour).
_STORE_HOURS = [h.to_pydatetime() for h in _hours() if h >= START + WINDOW + pd.Timedelta(hours=1)]
_TIME_HOURS = st.one_of(
    st.sampled_from(_STORE_HOURS).map(lambda h: h.isoformat()),
    st.sampled_from(_STORE_HOURS).map(lambda h: h.replace(tzinfo=None).isoformat()),
    st.sampled_from(_STORE_HOURS).map(
        lambda h: h.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
        .replace(minute=0)
        .isoformat()
    ),
    # Without an offset, New York's time: later than the same clock time in UTC.
    st.datetimes(dt.datetime(2013, 3, 3), dt.datetime(2013, 11, 10)).map(
        lambda d: d.replace(minute=0, second=0, microsecond=0).isoformat()
    ),
)
# Any hour the request model accepts whose departure's window starts before the data start.
_EARLY_HOURS = st.datetimes(dt.datetime(1970, 1, 2), dt.datetime(2013, 3, 2, 22)).map(
    lambda d: d.replace(minute=0, second=0, microsecond=0, tzinfo=dt.UTC).isoformat()
)
# Any hour the request model accepts after the horizon plus the allowance (a day).
_LATE_HOURS = st.datetimes(dt.datetime(2013, 11, 11, 2), dt.datetime(2099, 12, 30)).map(
    lambda d: d.replace(minute=0, second=0, microsecond=0, tzinfo=dt.UTC).isoformat()
)


def _fields(time_hours: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {
            "carrier": st.sampled_from(CARRIERS),
            "flight": st.integers(1, 9999),
            "tailnum": st.one_of(st.none(), st.sampled_from(TAILNUMS)),
            "origin": st.sampled_from(ORIGINS),
            "dest": st.sampled_from(DESTS),
            "time_hour": time_hours,
            "sched_arr_time": _hhmm(),
            "distance": st.floats(0.5, 10_000, allow_nan=False, allow_infinity=False),
        }
    )


def _flights(time_hours: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, object]]:
    """Each departing in its time_hour's hour, as the request model requires."""
    return st.builds(
        lambda fields, minute: {**fields, "sched_dep_time": departure(fields["time_hour"], minute)},
        _fields(time_hours),
        st.integers(0, 59),
    )


_FLIGHT = _flights(_TIME_HOURS)


def _flight(fields: dict[str, object]) -> Flight:
    try:
        return Flight.model_validate(fields)
    except ValueError:
        assume(False)  # a local time that does not exist in New York
        raise


def flight_leaving(
    origin: str, time_hour: str, carrier: str = "UA", tailnum: str | None = "N0", minute: int = 0
) -> Flight:
    """A flight to IAH from `origin`, leaving `minute` past its `time_hour`."""
    return Flight.model_validate(
        {"carrier": carrier, "flight": 1, "tailnum": tailnum, "origin": origin, "dest": "IAH",
         "time_hour": time_hour, "sched_dep_time": departure(time_hour, minute),
         "sched_arr_time": 1200, "distance": 100}
    )  # fmt: skip


@settings(max_examples=300)
@given(st.lists(_FLIGHT, min_size=1, max_size=40))
def test_the_fast_path_equals_compute_features(
    store: OnlineStore, requests: list[dict[str, object]]
) -> None:
    flights = [_flight(fields) for fields in requests]
    expected = online_features(flights_frame(flights), store)
    pd.testing.assert_frame_equal(flight_features(flights, store), expected, check_exact=True)


# Flights leaving after the store's data horizon (live traffic, scored before its weather is
# observed) that the default allowance of a day accepts: in the day's hours after it, and at the
# last instant, whose weather hour is the horizon's.
_LIVE_FLIGHT = st.one_of(
    _flights(st.integers(0, 23).map(lambda h: (HORIZON + pd.Timedelta(hours=h)).isoformat())),
    st.builds(
        lambda fields: {**fields, "sched_dep_time": departure(fields["time_hour"], 0)},
        _fields(st.just((HORIZON + pd.Timedelta(days=1)).isoformat())),
    ),
)


@settings(max_examples=100)
@given(st.lists(_LIVE_FLIGHT, min_size=1, max_size=20))
def test_flights_past_the_horizon_get_the_weather_of_the_offline_features(
    store: OnlineStore, requests: list[dict[str, object]]
) -> None:
    """Before, a flight's weather was its departure hour's: past the horizon the store had none
    and served the fills, while the offline features of the same flights (as the training table
    is built, from upstream's weather) held the readings."""
    flights = [_flight(fields) for fields in requests]
    frame = flights_frame(flights)
    offline = weather_features(frame["origin"], frame["time_hour"], _upstream_weather())
    weather = list(WEATHER_FEATURES)
    served = flight_features(flights, store)[weather]
    pd.testing.assert_frame_equal(served, offline.reset_index(drop=True), check_exact=True)
    reference = online_features(frame, store)[weather]
    pd.testing.assert_frame_equal(reference, offline, check_exact=True)


def test_an_allowance_past_the_lead_scores_the_last_flights_with_the_fills(
    store_path: Path,
) -> None:
    """serve's FLIGHT_DELAY_HORIZON_ALLOWANCE_HOURS may exceed the lead (the runbook's stopgap):
    flights whose weather hour is still within the data get it, later ones the fills
    (`weather_known` 0), in both paths (ADR 0019)."""
    store = OnlineStore(store_path, pd.Timedelta(days=2))
    hours = [HORIZON + pd.Timedelta(hours=h) for h in (1, 12, 24, 25, 36, 48)]
    flights = [flight_leaving(origin, hour.isoformat()) for hour in hours for origin in ORIGINS]
    served = flight_features(flights, store)
    pd.testing.assert_frame_equal(
        served, online_features(flights_frame(flights), store), check_exact=True
    )
    within = [h - WEATHER_LEAD <= HORIZON for h in hours for _ in ORIGINS]
    known = served["weather_known"].astype(bool).tolist()
    # Most lead hours up to the horizon were observed (a tenth of the store's hours are not);
    # none after it is in the store.
    assert sum(known) >= len(ORIGINS)
    assert not any(k for k, w in zip(known, within, strict=True) if not w)


def _past(error: PastHorizon) -> tuple[list[tuple[int, pd.Timestamp]], bool]:
    named = all(late.horizon == HORIZON and late.origin in ORIGINS for late in error.past)
    return [late[:2] for late in error.past], named and error.allowance == pd.Timedelta(days=1)


def _before(error: BeforeDataStart) -> tuple[list[tuple[int, pd.Timestamp]], bool]:
    return error.before, error.start == START and error.window == WINDOW


@pytest.mark.parametrize(
    ("refused", "outside", "named"),
    [(PastHorizon, _LATE_HOURS, _past), (BeforeDataStart, _EARLY_HOURS, _before)],
    ids=["past the horizon", "before the data start"],
)
@settings(max_examples=100)
@given(data=st.data())
def test_both_paths_refuse_the_same_flights_outside_the_data(
    store: OnlineStore,
    refused: type[PastHorizon | BeforeDataStart],
    outside: st.SearchStrategy[str],
    named: Callable[[Any], tuple[list[tuple[int, pd.Timestamp]], bool]],
    data: st.DataObject,
) -> None:
    # Before, flights before the data start were counted over a window running before the
    # store's data, down to 0.
    requests = data.draw(
        st.lists(
            st.tuples(st.booleans(), _flights(_TIME_HOURS), _flights(outside)),
            min_size=1,
            max_size=10,
        )
    )
    flights = [_flight(far if out else near) for out, near, far in requests]
    expected = [i for i, (out, _, _) in enumerate(requests) if out]
    if not expected:
        return
    with pytest.raises(refused) as reference:
        online_features(flights_frame(flights), store)
    with pytest.raises(refused) as fast:
        flight_features(flights, store)
    positions, bounds_named = named(fast.value)
    assert [i for i, _ in positions] == expected
    assert positions == named(reference.value)[0]
    assert bounds_named, fast.value


def test_one_origins_stopped_weather_refuses_only_its_flights(tmp_path: Path) -> None:
    """A station out: JFK's weather stops two days before the store's flights. Before, the
    store's one horizon was held to JFK's end, and every origin's flights past it were refused;
    now only JFK's, naming JFK and its horizon, while EWR's and LGA's are scored."""
    stopped = HORIZON - pd.Timedelta(days=2)
    _write(tmp_path / "online.sqlite", {"JFK": stopped})
    store = OnlineStore(tmp_path / "online.sqlite")
    jfk = store.horizon_of("JFK")
    assert jfk <= stopped + pd.Timedelta(minutes=59) and store.horizon_of("EWR") == HORIZON
    # A day past JFK's horizon: refused from JFK, scored from the others with their weather.
    when = (HORIZON - pd.Timedelta(hours=12)).isoformat()
    flights = [flight_leaving(origin, when) for origin in ORIGINS]
    refused = store_refusals(flights, store)
    jfk_at = ORIGINS.index("JFK")
    assert [(loc, kind) for loc, kind, _ in refused] == [
        (("flights", jfk_at, "time_hour"), "past_data_horizon")
    ]
    assert f"data horizon at JFK {jfk.isoformat()} " in refused[0][2]
    scored = [flight for flight in flights if flight.origin != "JFK"]
    served = flight_features(scored, store)
    pd.testing.assert_frame_equal(
        served, online_features(flights_frame(scored), store), check_exact=True
    )
    assert served["weather_known"].tolist() == [1] * len(scored)
    with pytest.raises(PastHorizon):
        online_features(flights_frame(flights), store)


def test_an_origin_without_weather_refuses_only_its_flights_naming_it(tmp_path: Path) -> None:
    """JFK had flights but no weather at all when the store was built. Before, no store was
    built (every origin's served store aged); now JFK's flight is refused by name, the others
    are scored with their weather by both paths."""
    _write(tmp_path / "online.sqlite", {"JFK": START - pd.Timedelta(days=1)})
    store = OnlineStore(tmp_path / "online.sqlite")
    assert store.weatherless == ("JFK",)
    when = (HORIZON - pd.Timedelta(hours=12)).isoformat()
    flights = [flight_leaving(origin, when) for origin in ORIGINS]
    jfk_at = ORIGINS.index("JFK")
    assert store_refusals(flights, store) == [
        (
            ("flights", jfk_at, "time_hour"),
            "past_data_horizon",
            f"departure {pd.Timestamp(when).isoformat()} is from JFK, and the online store "
            "holds no weather at JFK: its flights had none when the store was built",
        )
    ]
    scored = [flight for flight in flights if flight.origin != "JFK"]
    served = flight_features(scored, store)
    pd.testing.assert_frame_equal(
        served, online_features(flights_frame(scored), store), check_exact=True
    )
    assert served["weather_known"].tolist() == [1] * len(scored)
    with pytest.raises(PastHorizon, match="holds no weather at JFK"):
        online_features(flights_frame(flights), store)
    with pytest.raises(PastHorizon, match="holds no weather at JFK"):
        flight_features(flights, store)


# What a generated flight is refused for, if anything: each kind the store names, and both.
_KINDS = ("scored", "unknown_airport", "past_data_horizon", "before_data_start", "both")


@settings(max_examples=100)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_KINDS),
            _flights(_TIME_HOURS),
            _flights(_LATE_HOURS),
            _flights(_EARLY_HOURS),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_every_refusal_of_a_request_is_named_at_once(
    store: OnlineStore,
    requests: list[tuple[str, dict[str, object], dict[str, object], dict[str, object]]],
) -> None:
    # Before, one kind per answer: an unknown destination hid a departure past the horizon, and
    # that one a departure before the data start; the client learnt each on another try.
    flights, expected = [], []
    for i, (kind, near, late, early) in enumerate(requests):
        fields = {"past_data_horizon": late, "before_data_start": early, "both": late}.get(
            kind, near
        )
        if kind in ("unknown_airport", "both"):
            fields = {**fields, "dest": "XYZ"}
            expected.append((("flights", i, "dest"), "unknown_airport"))
        if kind in ("past_data_horizon", "before_data_start", "both"):
            timed = "past_data_horizon" if kind == "both" else kind
            expected.append((("flights", i, "time_hour"), timed))
        flights.append(_flight(fields))
    refused = store_refusals(flights, store)
    assert [(loc, kind) for loc, kind, _ in refused] == expected
    for _, kind, message in refused:
        assert {
            "unknown_airport": "unknown airport 'XYZ'",
            "past_data_horizon": "data horizon",
            "before_data_start": "data start",
        }[kind] in message


def test_the_generated_store_exercises_every_branch(store: OnlineStore) -> None:
    """The cases the property test relies on are in the store."""
    flights = [
        flight_leaving("EWR", hour, carrier=carrier, tailnum=tailnum, minute=15)
        for carrier, tailnum, hour in [
            ("UA", "N0", "2013-03-15T10:00:00"),
            ("B6", None, "2013-03-15T10:00:00"),
            # Between the store's two spans: no weather, no arrival in the window.
            ("AA", "N11", "2013-06-01T10:00:00"),
            ("AA", "N4", "2013-03-10T03:00:00"),
        ]
    ]
    features = flight_features(flights, store)
    assert features["carrier_trailing_flights"].tolist()[1:3] == [0, 0]
    assert features["carrier_trailing_flights"].iloc[0] > 0
    assert features["plane_known"].tolist() == [1, 0, 0, 1]
    assert features["weather_known"].iloc[2] == 0
    pd.testing.assert_frame_equal(
        features, online_features(flights_frame(flights), store), check_exact=True
    )


def test_an_infinite_stored_reading_is_refused_like_the_reference(tmp_path: Path) -> None:
    # The reading of the flight's weather_hour, a day before it leaves.
    weather = pd.DataFrame(
        {"origin": ["EWR"], "time_hour": pd.to_datetime(["2013-03-14T14:00Z"], utc=True)}
    )
    for column in WEATHER_COLUMNS:
        weather[column] = [np.inf if column == "temp" else 1.0]
    planes = pd.DataFrame({"tailnum": ["N1"], "year": [2000.0], "seats": [1.0], "engines": [1.0]})
    airports = pd.DataFrame({"faa": ["IAH"], "tzone": ["America/Chicago"]})
    events = pd.DataFrame(
        {"carrier": pd.array([], "string"), "origin": pd.array([], "string"),
         "arrival": pd.Series([], dtype="datetime64[ns, UTC]"), "delayed": pd.array([], "int8")}
    )  # fmt: skip
    write_store(
        tmp_path / "s.sqlite",
        weather,
        planes,
        airports,
        events,
        pd.Timedelta(days=1),
        pd.Timestamp("2013-03-15T14:00Z"),
        pd.Timestamp("2013-03-14T00:00Z"),
        ["EWR"],
    )
    store = OnlineStore(tmp_path / "s.sqlite")
    flight = Flight.model_validate(
        {"carrier": "UA", "flight": 1, "tailnum": "N1", "origin": "EWR", "dest": "IAH",
         "time_hour": "2013-03-15T14:00:00Z", "sched_dep_time": 1015, "sched_arr_time": 1200,
         "distance": 100}
    )  # fmt: skip
    with pytest.raises(FeatureInputError, match=r"temp \(1 rows\)") as reference:
        online_features(flights_frame([flight]), store)
    with pytest.raises(FeatureInputError) as fast:
        flight_features([flight], store)
    assert str(fast.value) == str(reference.value)


def test_a_request_that_fills_the_calendar_cache_gets_every_hour() -> None:
    """A cached hour beside more new ones than the cache has room for: it is emptied to make
    room, and the request still gets each hour's row (it raised KeyError, a 500, before)."""
    hour = 3600 * 10**9
    instants = [0, 200_000 * hour, 200_001 * hour]
    expected = CalendarCache()(instants)
    calendar = CalendarCache(limit=2)
    calendar(instants[:1])
    assert calendar(instants) == expected
    assert calendar(instants[1:]) == expected[1:]
