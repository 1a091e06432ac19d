import pandas as pd
import pytest

from contracts.flights import FLIGHT_COLUMNS, FLIGHTS, NATURAL_KEY
from contracts.table import ContractViolation, apply_contract
from contracts.testing import landed_rows


def test_natural_key_is_part_of_the_contract() -> None:
    assert set(NATURAL_KEY) <= set(FLIGHT_COLUMNS)


def test_check_columns_names_missing_and_unexpected_columns() -> None:
    columns = [c for c in FLIGHT_COLUMNS if c != "carrier"] + ["gate"]
    with pytest.raises(ContractViolation) as error:
        FLIGHTS.check_columns(columns, source="flights.csv")
    assert str(error.value) == "flights.csv: missing column(s) carrier; unexpected column(s) gate"


def test_a_good_row_is_typed_and_valid() -> None:
    result = apply_contract(FLIGHTS, landed_rows(FLIGHTS, {}, {"arr_time": None, "tailnum": None}))
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
        ({"time_hour": "2013-02-01T10:00:00Z"}, "time_hour (in New York time) matches year"),
    ],
)
def test_each_broken_rule_is_named(change: dict[str, str | None], reason: str) -> None:
    result = apply_contract(FLIGHTS, landed_rows(FLIGHTS, {}, change))
    assert result.reasons[0] == ""
    assert reason in result.reasons[1]
    assert result.valid.tolist() == [True, False]
