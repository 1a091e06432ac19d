import pytest

from contracts.flights import FLIGHT_COLUMNS, FLIGHTS
from ingest.read_landed import read_landed

HEADER = ",".join(FLIGHT_COLUMNS)
ROW = "2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z"
GOOD = f"{HEADER}\n{ROW}\n{ROW.replace(',1545,', ',1714,')}\n"


def test_a_good_file_gives_all_rows_as_strings() -> None:
    landed = read_landed(FLIGHTS, "2013-01-01.csv", GOOD.encode())
    assert landed.problem is None and landed.rejected == []
    assert landed.rows is not None
    assert landed.rows["flight"].tolist() == ["1545", "1714"]


def test_na_and_empty_fields_are_missing() -> None:
    text = f"{HEADER}\n{ROW.replace(',830,', ',NA,').replace(',N14228,', ',,')}\n"
    landed = read_landed(FLIGHTS, "f.csv", text.encode())
    assert landed.rows is not None
    assert landed.rows.loc[0, "arr_time"] is None and landed.rows.loc[0, "tailnum"] is None


def test_a_truncated_last_row_is_rejected_with_a_reason_and_the_rest_is_kept() -> None:
    truncated = GOOD.encode()[:-40]
    landed = read_landed(FLIGHTS, "f.csv", truncated)
    assert landed.problem is None
    assert landed.rows is not None and len(landed.rows) == 1
    (rejected,) = landed.rejected
    assert rejected.reason.startswith("row has ") and rejected.reason.endswith("expected 19")


@pytest.mark.parametrize(
    ("content", "problem", "unusable_rows"),
    [
        (b"", "empty file", 0),
        (b"\n\n", "empty file", 0),
        (f"{HEADER}\n".encode(), "header only: no data rows", 0),
        (GOOD.encode().replace(b"IAH", b"I\xe9H"), "not UTF-8: byte 0xe9 at offset", 2),
        (GOOD.replace(",tailnum", "").encode(), "header: missing column(s) tailnum", 2),
        (GOOD.replace("time_hour", "time_hour,gate").encode(), "unexpected column(s) gate", 2),
        (GOOD.replace(",", ";").encode(), "wrong delimiter ';'", 2),
        (bytes(range(256)) * 4, "binary content: NUL byte at offset 0", 0),
    ],
    ids=["empty", "blank", "header-only", "non-utf8", "missing-column", "extra-column",
         "wrong-delimiter", "binary"],
)  # fmt: skip
def test_a_bad_file_gets_a_reason_not_an_exception(
    content: bytes, problem: str, unusable_rows: int
) -> None:
    landed = read_landed(FLIGHTS, "bad.csv", content)
    assert landed.rows is None
    assert landed.problem is not None and problem in landed.problem
    assert landed.unusable_rows == unusable_rows
