import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.flights import FLIGHT_COLUMNS, FLIGHTS
from contracts.tables import CURATED_TABLES
from contracts.testing import LANDED_ROWS
from ingest.read_landed import read_landed, read_text_rows

HEADER = ",".join(FLIGHT_COLUMNS)
ROW = LANDED_ROWS["flights"]
GOOD = f"{HEADER}\n{ROW}\n{ROW.replace(',1545,', ',1714,')}\n"


def with_value(column: str, value: str) -> bytes:
    """GOOD with `column` of its second row set to `value`."""
    fields = ROW.split(",")
    fields[FLIGHT_COLUMNS.index(column)] = value
    return f"{HEADER}\n{ROW}\n{','.join(fields)}\n".encode()


def test_a_good_file_gives_rows_typed_as_the_contract_declares() -> None:
    landed = read_landed(FLIGHTS, "2013-01-01.csv", GOOD.encode())
    assert landed.problem is None and landed.rejected == [] and landed.unparsed == {}
    assert landed.rows is not None
    assert landed.rows.schema == FLIGHTS.arrow_schema
    assert landed.rows["flight"].to_pylist() == [1545, 1714]
    assert landed.rows["carrier"].to_pylist() == ["UA", "UA"]


def test_na_and_empty_fields_are_missing() -> None:
    text = f"{HEADER}\n{ROW.replace(',830,', ',NA,').replace(',N14228,', ',,')}\n"
    landed = read_landed(FLIGHTS, "f.csv", text.encode())
    assert landed.rows is not None
    assert landed.rows["arr_time"].to_pylist() == [None]
    assert landed.rows["tailnum"].to_pylist() == [None]


def test_columns_come_in_contract_order_whatever_the_header_order_and_spacing() -> None:
    columns = list(reversed(FLIGHT_COLUMNS))
    row = dict(zip(FLIGHT_COLUMNS, ROW.split(","), strict=True))
    text = f"{', '.join(columns)}\n{','.join(row[c] for c in columns)}\n"
    landed = read_landed(FLIGHTS, "f.csv", text.encode())
    assert landed.rows is not None and landed.problem is None
    assert landed.rows.column_names == list(FLIGHT_COLUMNS)
    assert landed.rows["flight"].to_pylist() == [1545]


def test_a_truncated_last_row_is_rejected_with_a_reason_and_the_rest_is_kept() -> None:
    truncated = GOOD.encode()[:-40]
    landed = read_landed(FLIGHTS, "f.csv", truncated)
    assert landed.problem is None
    assert landed.rows is not None and landed.rows.num_rows == 1
    (rejected,) = landed.rejected
    assert rejected.reason.startswith("last line has no line break")


def test_a_short_row_is_rejected_with_its_field_count() -> None:
    short = f"{HEADER}\n{ROW}\n{ROW.rsplit(',', 3)[0]}\n".encode()
    landed = read_landed(FLIGHTS, "f.csv", short)
    assert landed.rows is not None and landed.rows.num_rows == 1
    (rejected,) = landed.rejected
    assert rejected.reason == "row has 16 fields, expected 19"


@pytest.mark.parametrize("table", ["airports", "planes", "flights", "weather"])
@settings(max_examples=30)
@given(cut=st.integers(1, 30), line_break=st.sampled_from(["\n", "\r\n"]))
def test_a_file_cut_short_inside_its_last_row_never_has_that_row_accepted(
    table: str, cut: int, line_break: str
) -> None:
    """Cut inside its last value, a row can still have every field and a value its contract
    takes ("America/Chi" for a time zone, "Turbo-" for an engine)."""
    contract = CURATED_TABLES[table]
    good = line_break.join([",".join(contract.columns), LANDED_ROWS[table], LANDED_ROWS[table]])
    data = good.encode()[:-cut]
    landed = read_landed(contract, f"{table}.csv", data)
    assert landed.problem is None and landed.rows is not None
    assert landed.rows.num_rows == 1
    (rejected,) = landed.rejected
    assert rejected.line == 3
    assert rejected.text == LANDED_ROWS[table][:-cut]
    assert rejected.reason == "last line has no line break at its end: the file may be truncated"
    assert len(read_text_rows(contract, data)) == 1


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("flight", "abc", "flight: not an integer (got 'abc')"),
        ("flight", "1.5", "flight: not an integer (got '1.5')"),
        # Arrow alone would read these three as 16, NaN and a number.
        ("flight", "0x10", "flight: not an integer (got '0x10')"),
        ("dep_time", "nan", "dep_time: not a number (got 'nan')"),
        ("flight", "99999999999999999999", "flight: not an integer (got '99999999999999999999')"),
        ("flight", "1545.5", "flight: not an integer (got '1545.5')"),
        ("flight", "9007199254740993.0", "flight: not an integer (got '9007199254740993.0')"),
        ("time_hour", "yesterday", "time_hour: not an ISO-8601 date and time (got 'yesterday')"),
    ],
)
def test_a_value_that_does_not_parse_is_named_and_its_row_kept(
    column: str, value: str, reason: str
) -> None:
    landed = read_landed(FLIGHTS, "f.csv", with_value(column, value))
    assert landed.problem is None and landed.rows is not None
    assert landed.rows.num_rows == 2
    assert landed.unparsed == {1: reason}
    assert landed.rows[column].to_pylist()[1] is None


@pytest.mark.parametrize(
    ("column", "value", "typed"),
    [("flight", "1545.0", 1545), ("flight", " 1545 ", 1545), ("flight", "+1545", 1545),
     ("dep_time", "5.17e2", 517.0), ("dep_time", "inf", float("inf"))],
)  # fmt: skip
# "1545.0" is how pandas writes an integer column with gaps (planes' year).
def test_values_written_unusually_are_typed_as_the_text_parser_types_them(
    column: str, value: str, typed: object
) -> None:
    landed = read_landed(FLIGHTS, "f.csv", with_value(column, value))
    assert landed.rows is not None and landed.unparsed == {}
    assert landed.rows[column].to_pylist()[1] == typed


def test_text_rows_line_up_with_the_typed_rows() -> None:
    data = with_value("flight", "abc")
    text = read_text_rows(FLIGHTS, data)
    assert list(text.columns) == list(FLIGHT_COLUMNS)
    assert text["flight"].tolist() == ["1545", "abc"]
    assert text.loc[0, "dep_time"] == "517"


@pytest.mark.parametrize(
    ("content", "problem", "unusable_rows"),
    [
        (b"", "empty file", 0),
        (b"\n\n", "empty file", 0),
        (f"{HEADER}\n".encode(), "header only: no data rows", 0),
        (GOOD.encode().replace(b"IAH", b"I\xe9H"), "not UTF-8: byte 0xe9 at offset", 2),
        (GOOD.replace(",tailnum", "").encode(), "header: missing column(s) tailnum", 2),
        (GOOD.replace("time_hour", "time_hour,gate").encode(), "unexpected column(s) gate", 2),
        (GOOD.replace("time_hour\n", "time_hour,year\n").encode(), "repeated column(s) year", 2),
        (GOOD.replace(",", ";").encode(), "wrong delimiter ';'", 2),
        (bytes(range(256)) * 4, "binary content: NUL byte at offset 0", 0),
    ],
    ids=["empty", "blank", "header-only", "non-utf8", "missing-column", "extra-column",
         "repeated-column", "wrong-delimiter", "binary"],
)  # fmt: skip
def test_a_bad_file_gets_a_reason_not_an_exception(
    content: bytes, problem: str, unusable_rows: int
) -> None:
    landed = read_landed(FLIGHTS, "bad.csv", content)
    assert landed.rows is None
    assert landed.problem is not None and problem in landed.problem
    assert landed.unusable_rows == unusable_rows


def test_a_utf8_byte_order_mark_is_not_part_of_the_header() -> None:
    data = codecs.BOM_UTF8 + GOOD.encode()
    landed = read_landed(FLIGHTS, "exported.csv", data)
    assert landed.problem is None and landed.rows is not None
    assert landed.rows["year"].to_pylist() == [2013, 2013]
    assert read_text_rows(FLIGHTS, data)["year"].tolist() == ["2013", "2013"]
