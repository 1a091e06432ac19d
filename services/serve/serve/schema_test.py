import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError  # pants: no-infer-dep (bentoml's, via schema.py)

from serve.limits import MAX_FLIGHTS
from serve.schema import Flight, PredictRequest, flights_frame

FLIGHT: dict[str, Any] = {
    "carrier": "UA",
    "flight": 1545,
    "tailnum": "N14228",
    "origin": "EWR",
    "dest": "IAH",
    "time_hour": "2013-01-01T05:00:00",
    "sched_dep_time": 515,
    "sched_arr_time": 819,
    "distance": 1400,
}


def test_a_naive_time_hour_is_new_york_time() -> None:
    flight = Flight(**FLIGHT)
    assert flight.time_hour == dt.datetime(2013, 1, 1, 10, tzinfo=dt.UTC)
    frame = flights_frame([flight, Flight(**{**FLIGHT, "time_hour": "2013-01-01T10:00:00Z"})])
    assert frame["time_hour"].nunique() == 1
    assert str(frame["time_hour"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"origin": "BOS"}, "origin"),
        ({"dest": "iah"}, "dest"),
        ({"sched_dep_time": 960}, "sched_dep_time"),
        ({"sched_arr_time": 2400}, "sched_arr_time"),
        # Not in time_hour's hour (05:00 in New York): before, scored at 05:15.
        ({"sched_dep_time": 615}, "sched_dep_time"),
        ({"sched_dep_time": 459}, "sched_dep_time"),
        ({"time_hour": "2013-01-01T05:00:00Z"}, "sched_dep_time"),
        ({"time_hour": "2013-01-01T05:15:00"}, "time_hour"),
        # The hour that never happens when daylight saving starts.
        ({"time_hour": "2013-03-10T02:00:00"}, "time_hour"),
        # A whole hour where it is written, half past one in UTC.
        ({"time_hour": "2013-11-01T18:00:00+05:30"}, "time_hour"),
        # Before, read as midnight: a flight sent with its day only was scored for 00:00.
        ({"time_hour": "2013-01-01"}, "time_hour"),
        # Before, the digits below the microsecond were dropped and the hour read as whole.
        ({"time_hour": "2013-01-01T10:00:00.0000001Z"}, "time_hour"),
        ({"distance": -1}, "distance"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        Flight(**{**FLIGHT, **change})
    assert error.value.errors()[0]["loc"] == (field,)


MISTYPED = [
    ({"flight": True}, "flight"),
    ({"flight": "1545"}, "flight"),
    ({"flight": 1545.0}, "flight"),
    ({"distance": "1400"}, "distance"),
    ({"distance": True}, "distance"),
    ({"sched_dep_time": True}, "sched_dep_time"),
    ({"sched_arr_time": "0819"}, "sched_arr_time"),
    ({"carrier": 12}, "carrier"),
    ({"tailnum": 14228}, "tailnum"),
    # Unix seconds (2013-01-01T10:00Z), as a number or as digits: pydantic alone reads both.
    ({"time_hour": 1357034400}, "time_hour"),
    ({"time_hour": "1357034400"}, "time_hour"),
    ({"time_hour": "2013010105"}, "time_hour"),
    ({"time_hour": True}, "time_hour"),
]


@pytest.mark.parametrize(("change", "field"), MISTYPED)
def test_a_mistyped_field_is_refused_not_converted(change: dict[str, Any], field: str) -> None:
    body = {"flights": [{**FLIGHT, **change}]}
    # From a parsed body and from its text: the server validates one or the other.
    with pytest.raises(ValidationError) as parsed:
        PredictRequest.model_validate(body)
    with pytest.raises(ValidationError) as text:
        PredictRequest.model_validate_json(json.dumps(body))
    for error in (parsed, text):
        assert [e["loc"] for e in error.value.errors()] == [("flights", 0, field)]


@pytest.mark.parametrize(
    "change",
    [
        {},
        # A number of miles may be written as an integer.
        {"distance": 1400},
        {"distance": 1400.5},
        {"time_hour": "2013-01-01T10:00:00Z"},
        {"time_hour": "2013-01-01T05:00:00-05:00"},
        {"time_hour": "2013-01-01 05:00"},
        {"time_hour": "2013-01-01t10:00:00z"},
        {"tailnum": None},
    ],
)
def test_each_json_type_of_a_field_is_accepted(change: dict[str, Any]) -> None:
    body = {"flights": [{**FLIGHT, **change}]}
    parsed = PredictRequest.model_validate(body).flights[0]
    assert parsed == PredictRequest.model_validate_json(json.dumps(body)).flights[0]
    assert parsed.time_hour == dt.datetime(2013, 1, 1, 10, tzinfo=dt.UTC)
    assert isinstance(parsed.distance, float) and isinstance(parsed.flight, int)


@pytest.mark.parametrize(
    ("time_hour", "sched_dep_time"),
    [
        ("2013-01-01T05:00:00", 500),
        ("2013-01-01T10:00:00Z", 559),
        ("2013-07-01T10:00:00Z", 600),  # daylight time
        ("2013-01-01T05:00:00+03:00", 2100),  # the day before in New York
        # The hour that occurs twice: 01:00 daylight time, then 01:00 standard time.
        ("2013-11-03T05:00:00Z", 130),
        ("2013-11-03T06:00:00Z", 130),
    ],
)
def test_a_departure_in_time_hours_new_york_hour_is_accepted(
    time_hour: str, sched_dep_time: int
) -> None:
    flight = Flight(**{**FLIGHT, "time_hour": time_hour, "sched_dep_time": sched_dep_time})
    assert flight.sched_dep_time == sched_dep_time


def test_batch_size_is_bounded() -> None:
    with pytest.raises(ValidationError, match="at most"):
        PredictRequest.model_validate({"flights": [FLIGHT] * (MAX_FLIGHTS + 1)})
    with pytest.raises(ValidationError, match="at least"):
        PredictRequest.model_validate({"flights": []})


@given(
    st.one_of(st.integers(), st.floats(), st.from_regex(r"\A[0-9]{1,12}\Z"), st.floats().map(str))
)
def test_a_time_hour_that_is_a_number_or_digits_is_refused(time_hour: object) -> None:
    body = {"flights": [{**FLIGHT, "time_hour": time_hour}]}
    with pytest.raises(ValidationError) as error:
        PredictRequest.model_validate(body)
    assert [e["loc"] for e in error.value.errors()] == [("flights", 0, "time_hour")]
    assert "ISO-8601" in error.value.errors()[0]["msg"]
