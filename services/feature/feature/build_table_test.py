import pandas as pd
import pytest

from contracts.flights import FLIGHT_COLUMNS
from contracts.table import ContractViolation
from feature.build_table import LABEL, training_table


def flights(arr_delays: list[float | None]) -> pd.DataFrame:
    rows = [
        {column: 0 for column in FLIGHT_COLUMNS}
        | {"flight": i, "arr_delay": delay, "time_hour": "2013-06-01T12:00:00Z"}
        for i, delay in enumerate(arr_delays)
    ]
    return pd.DataFrame(rows)


def test_label_is_an_arrival_more_than_15_minutes_late() -> None:
    table = training_table(flights([-3, 15, 16, 120]))
    assert table[LABEL].tolist() == [0, 0, 1, 1]


def test_flights_without_arrival_delay_are_left_out() -> None:
    table = training_table(flights([5, None, 30]))
    assert table["flight"].tolist() == [0, 2]


def test_table_has_calendar_features() -> None:
    table = training_table(flights([0]))
    assert table[["month_of_year", "day_of_week", "dep_hour"]].iloc[0].tolist() == [6, 5, 8]


def test_input_breaking_the_contract_is_rejected() -> None:
    with pytest.raises(ContractViolation, match="missing column\\(s\\) arr_delay"):
        training_table(flights([1]).drop(columns=["arr_delay"]))
