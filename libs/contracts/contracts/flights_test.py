import pytest

from contracts.flights import FLIGHT_COLUMNS, NATURAL_KEY, ContractViolation, check_columns


def test_natural_key_is_part_of_the_contract() -> None:
    assert set(NATURAL_KEY) <= set(FLIGHT_COLUMNS)


def test_check_columns_accepts_the_contract_in_any_order() -> None:
    check_columns(reversed(FLIGHT_COLUMNS), source="flights.csv")


def test_check_columns_names_missing_and_unexpected_columns() -> None:
    columns = [c for c in FLIGHT_COLUMNS if c != "carrier"] + ["gate"]
    with pytest.raises(ContractViolation) as error:
        check_columns(columns, source="flights.csv")
    assert str(error.value) == "flights.csv: missing column(s) carrier; unexpected column(s) gate"
