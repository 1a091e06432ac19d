import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.flights import FLIGHT_COLUMNS, FLIGHTS, NATURAL_KEY
from contracts.table import ContractViolation, apply_contract
from contracts.testing import landed_rows

HOUR_AND_MINUTE = "hour and minute are sched_dep_time's hour and minutes"
DEP_DELAY = "dep_delay is dep_time - sched_dep_time in minutes, modulo 24 h"
ARR_DELAY = "arr_delay is arr_time - sched_arr_time in minutes, modulo 24 h"
MINUTES_PER_DAY = 24 * 60


def test_natural_key_is_part_of_the_contract() -> None:
    assert set(NATURAL_KEY) <= set(FLIGHT_COLUMNS)


def test_check_columns_names_missing_and_unexpected_columns() -> None:
    columns = [c for c in FLIGHT_COLUMNS if c != "carrier"] + ["gate"]
    with pytest.raises(ContractViolation) as error:
        FLIGHTS.check_columns(columns, source="flights.csv")
    assert str(error.value) == "flights.csv: missing column(s) carrier; unexpected column(s) gate"


def test_a_good_row_is_typed_and_valid() -> None:
    # A diverted flight: no arrival, so no arrival delay either.
    unarrived = {"arr_time": None, "arr_delay": None, "tailnum": None}
    result = apply_contract(FLIGHTS, landed_rows(FLIGHTS, {}, unarrived))
    assert result.valid.tolist() == [True, True]
    assert result.typed.loc[0, "sched_dep_time"] == 515
    assert result.typed.loc[0, "time_hour"] == pd.Timestamp("2013-01-01 10:00", tz="UTC")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"month": "13"}, "month: in_range(1, 12) (got 13)"),
        ({"carrier": "ZZ"}, "carrier: isin("),
        ({"origin": "BOS"}, "origin: isin("),
        ({"dep_time": "abc"}, "dep_time: not a number (got 'abc')"),
        ({"flight": "1.5"}, "flight: not an integer (got '1.5')"),
        ({"sched_dep_time": "575"}, "sched_dep_time: minutes (last two digits) < 60 (got 575)"),
        ({"sched_dep_time": None}, "sched_dep_time: not_nullable"),
        ({"tailnum": "n-1"}, "tailnum: str_matches("),
        ({"time_hour": "yesterday"}, "time_hour: not an ISO-8601 date and time"),
        (
            {"time_hour": "2013-02-01T10:00:00Z"},
            "time_hour is the start of the hour year, month, day and hour name",
        ),
        # Time fields that contradict one another (the landed row: scheduled 05:15, left 05:17,
        # 2 minutes late; scheduled to arrive 08:19, arrived 08:30, 11 minutes late).
        ({"hour": "6", "time_hour": "2013-01-01T11:00:00Z"}, HOUR_AND_MINUTE),
        ({"minute": "16"}, HOUR_AND_MINUTE),
        ({"dep_delay": "12"}, DEP_DELAY),
        ({"dep_time": "617"}, DEP_DELAY),
        ({"dep_time": None}, DEP_DELAY),
        # Arrived two hours late but recorded as early: it would be labelled on time.
        ({"arr_time": "1019", "arr_delay": "-5"}, ARR_DELAY),
        ({"sched_arr_time": "719"}, ARR_DELAY),
        ({"arr_time": None}, ARR_DELAY),
    ],
)
def test_each_broken_rule_is_named(change: dict[str, str | None], reason: str) -> None:
    result = apply_contract(FLIGHTS, landed_rows(FLIGHTS, {}, change))
    assert result.reasons[0] == ""
    assert reason in result.reasons[1]
    assert result.valid.tolist() == [True, False]


@pytest.mark.parametrize(
    "change",
    [
        # Left early, before midnight, for a flight scheduled just after it.
        {"sched_dep_time": "5", "hour": "0", "minute": "5", "time_hour": "2013-01-01T05:00:00Z",
         "dep_time": "2355", "dep_delay": "-10"},
        # Landed at midnight, written 2400 as upstream writes it; and the next day.
        {"sched_arr_time": "2350", "arr_time": "2400", "arr_delay": "10"},
        {"sched_arr_time": "2350", "arr_time": "15", "arr_delay": "25"},
        # A delay of more than a day is its clock time a day on.
        {"dep_time": "537", "dep_delay": "1462"},
        # Cancelled: no times and no delays.
        {"dep_time": None, "dep_delay": None, "arr_time": None, "arr_delay": None},
    ],
)  # fmt: skip
def test_time_fields_that_agree_across_midnight_are_valid(change: dict[str, str | None]) -> None:
    result = apply_contract(FLIGHTS, landed_rows(FLIGHTS, change))
    assert result.reasons.tolist() == [""]


def hhmm(minutes: int, *, midnight: int) -> str:
    """The clock time `minutes` after midnight (modulo a day) as HHMM, midnight as `midnight`."""
    minutes %= MINUTES_PER_DAY
    return str(minutes // 60 * 100 + minutes % 60 if minutes else midnight)


@st.composite
def consistent_flight(draw: st.DrawFn) -> dict[str, str | None]:
    """A flight on one January day whose time fields agree; actual times may be 2400."""
    day = draw(st.integers(1, 31))
    scheduled_departure = draw(st.integers(1, MINUTES_PER_DAY - 1))
    scheduled_arrival = draw(st.integers(1, MINUTES_PER_DAY - 1))
    dep_delay = draw(st.integers(-180, 1800))
    arr_delay = draw(st.integers(-180, 1800))
    hour = scheduled_departure // 60
    # January: New York is UTC-5.
    time_hour = pd.Timestamp(2013, 1, day, hour, tz="America/New_York").tz_convert("UTC")
    return {
        "day": str(day),
        "sched_dep_time": hhmm(scheduled_departure, midnight=0),
        "hour": str(hour),
        "minute": str(scheduled_departure % 60),
        "time_hour": time_hour.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dep_time": hhmm(scheduled_departure + dep_delay, midnight=2400),
        "dep_delay": str(dep_delay),
        "sched_arr_time": hhmm(scheduled_arrival, midnight=0),
        "arr_time": hhmm(scheduled_arrival + arr_delay, midnight=2400),
        "arr_delay": str(arr_delay),
    }


# Each time field and the check that names it when it alone changes.
NAMED_BY = {
    "hour": HOUR_AND_MINUTE,
    "minute": HOUR_AND_MINUTE,
    "sched_dep_time": HOUR_AND_MINUTE,
    "dep_time": DEP_DELAY,
    "dep_delay": DEP_DELAY,
    "sched_arr_time": ARR_DELAY,
    "arr_time": ARR_DELAY,
    "arr_delay": ARR_DELAY,
}


@given(
    consistent_flight(),
    st.sampled_from(sorted(NAMED_BY)),
    st.integers(-3 * MINUTES_PER_DAY, 3 * MINUTES_PER_DAY).filter(
        lambda shift: shift % MINUTES_PER_DAY != 0
    ),
)
def test_a_consistent_row_passes_and_moving_one_time_field_is_quarantined_naming_it(
    flight: dict[str, str | None], field: str, shift: int
) -> None:
    """Moving a field by `shift` minutes (not a whole number of days): a clock time moves on the
    clock, a delay by `shift`, the hour by `shift` hours and the minute by `shift` minutes, each
    within its own range, so that only the agreement between the fields can catch it."""
    assert apply_contract(FLIGHTS, landed_rows(FLIGHTS, flight)).reasons.tolist() == [""]
    value = int(str(flight[field]))
    if field == "hour":
        if shift % 24 == 0:
            shift += 1
        moved = {"hour": str((value + shift) % 24)}
    elif field == "minute":
        if shift % 60 == 0:
            shift += 1
        moved = {"minute": str((value + shift) % 60)}
    elif field.endswith("delay"):
        moved = {field: str(value + shift)}
    else:
        minutes = value // 100 * 60 + value % 100 + shift
        moved = {field: hhmm(minutes, midnight=2400 if field in ("dep_time", "arr_time") else 0)}
    result = apply_contract(FLIGHTS, landed_rows(FLIGHTS, {**flight, **moved}))
    assert result.valid.tolist() == [False]
    assert NAMED_BY[field] in result.reasons[0]
