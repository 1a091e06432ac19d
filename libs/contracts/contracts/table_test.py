import dataclasses
import datetime as dt

import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.flights import FLIGHT_COLUMNS, FLIGHTS
from contracts.table import TableContract, apply_contract, check_typed, typed_frame
from contracts.tables import CURATED_TABLES
from contracts.testing import landed_row, landed_rows

CONTRACTS = list(CURATED_TABLES.values())


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
@pytest.mark.parametrize("arrow_strings", [False, True])
def test_arrow_rows_become_the_dtypes_the_schema_declares(
    contract: TableContract, arrow_strings: bool
) -> None:
    empty = typed_frame(contract, contract.arrow_schema.empty_table(), arrow_strings=arrow_strings)
    schema = contract.arrow_string_schema if arrow_strings else contract.schema
    schema.validate(empty)


def test_string_patterns_are_re2_patterns() -> None:
    """String columns are checked in Arrow, whose regular expressions are RE2's."""
    patterns = [
        check.statistics["pattern"]
        for contract in CONTRACTS
        for column in contract.schema.columns.values()
        for check in column.checks
        if check.name == "str_matches"
    ]
    assert len(patterns) >= 3, patterns  # carrier, airport and time-zone codes at least
    for pattern in patterns:
        pc.match_substring_regex(pa.array(["x"]), pattern)


def test_typed_rows_are_judged_as_text_rows_are() -> None:
    changes: list[dict[str, str | None]] = [
        {}, {"month": "13"}, {"carrier": "ZZ"}, {"tailnum": "n-1"}, {"tailnum": None},
        {"sched_dep_time": "575"}, {"time_hour": "2013-02-01T10:00:00Z"},
    ]  # fmt: skip
    text = apply_contract(FLIGHTS, landed_rows(FLIGHTS, *changes))
    arrow = pa.Table.from_pandas(text.typed, schema=FLIGHTS.arrow_schema, preserve_index=False)
    typed = check_typed(FLIGHTS, typed_frame(FLIGHTS, arrow, arrow_strings=True))
    assert typed.reasons.tolist() == text.reasons.tolist()
    assert text.valid.tolist() == [True, False, False, False, True, False, False]


def test_rows_that_did_not_parse_are_rejected_unchecked() -> None:
    typed = apply_contract(FLIGHTS, landed_rows(FLIGHTS, {"month": "13"}, {})).typed
    unparsed = pd.Series(["", "flight: not an integer (got 'x')"], dtype=object)
    result = check_typed(FLIGHTS, typed, unparsed)
    assert "month: in_range(1, 12) (got 13)" in result.reasons[0]
    assert result.reasons[1] == "flight: not an integer (got 'x')"
    assert unparsed[0] == ""  # the caller's reasons are left as they were


def test_an_integer_beyond_what_a_float_holds_exactly_is_not_an_integer() -> None:
    result = apply_contract(FLIGHTS, landed_rows(FLIGHTS, {"flight": "99999999999999999999"}))
    assert result.reasons.tolist() == ["flight: not an integer (got '99999999999999999999')"]


def test_check_columns_names_repeated_columns() -> None:
    with pytest.raises(ValueError, match="repeated column\\(s\\) year$"):
        FLIGHTS.check_columns([*FLIGHT_COLUMNS, "year"], source="header")


def test_rows_with_missing_fields_do_not_stop_the_time_hour_check_for_the_others() -> None:
    """A null in a non-nullable column once made the frame-level time_hour check raise; pandera
    then reported it without a row and every inconsistent row of the table was accepted."""
    result = apply_contract(
        FLIGHTS,
        landed_rows(
            FLIGHTS,
            {},
            {"hour": None},
            {"time_hour": "2013-02-01T10:00:00Z"},  # a month after the local fields
            {"year": None, "time_hour": "2013-02-01T10:00:00Z"},
            {"time_hour": None},
        ),
    )
    assert result.valid.tolist() == [True, False, False, False, False]
    time_hour_check = (
        "time_hour is the start of the hour year, month, day and hour name (in New York time)"
    )
    for reason in result.reasons[1:]:
        assert time_hour_check in reason
    assert "hour: not_nullable" in result.reasons[1]
    assert "year: not_nullable" in result.reasons[3]
    assert "time_hour: not_nullable" in result.reasons[4]


def test_a_check_that_raises_rejects_every_row_it_could_not_judge() -> None:
    def explodes(frame: pd.DataFrame) -> pd.Series:
        raise RuntimeError("cannot judge")

    schema = pandera.DataFrameSchema(
        FLIGHTS.schema.columns,
        checks=[*FLIGHTS.schema.checks, pandera.Check(explodes, error="explodes")],
        strict=True,
    )
    result = apply_contract(
        dataclasses.replace(FLIGHTS, schema=schema), landed_rows(FLIGHTS, {}, {"month": "13"})
    )
    assert result.valid.tolist() == [False, False]
    for reason in result.reasons:
        assert 'explodes could not be checked (RuntimeError("cannot judge"))' in reason
    assert "month: in_range(1, 12) (got 13)" in result.reasons[1]


@pytest.mark.parametrize("table", ["flights", "weather"])
@given(
    past_the_hour=st.timedeltas(
        dt.timedelta(microseconds=1), dt.timedelta(minutes=59, seconds=59.999999)
    )
)
def test_a_time_hour_past_the_start_of_its_hour_is_rejected(
    table: str, past_the_hour: dt.timedelta
) -> None:
    """Weather is keyed and joined by time_hour: 06:30Z would be a second reading of the hour
    06:00Z names, under a key no flight's hour finds."""
    contract = CURATED_TABLES[table]
    start = pd.Timestamp(str(landed_row(contract)["time_hour"]))
    later = (start + past_the_hour).isoformat()
    result = apply_contract(contract, landed_rows(contract, {}, {"time_hour": later}))
    assert result.valid.tolist() == [True, False]
    assert (
        result.reasons[1]
        == "time_hour is the start of the hour year, month, day and hour name (in New York time)"
    )
