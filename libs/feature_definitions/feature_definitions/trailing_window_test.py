import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feature_definitions.trailing_window import MAX_WINDOW_DAYS, trailing_window


@given(st.integers(1, MAX_WINDOW_DAYS))
def test_a_whole_number_of_days_in_range_is_that_many_days(days: int) -> None:
    assert trailing_window(days, "x") == pd.Timedelta(days=days)


@given(st.integers().filter(lambda days: not 1 <= days <= MAX_WINDOW_DAYS))
def test_a_number_of_days_out_of_range_is_refused_by_name(days: int) -> None:
    with pytest.raises(ValueError) as error:
        trailing_window(days, "--window-days")
    assert str(error.value) == f"--window-days must be between 1 and 3650, got {days}"


@pytest.mark.parametrize("value", ["7", 7.0, True, None, [7]])
def test_anything_but_a_whole_number_is_refused_by_name(value: object) -> None:
    with pytest.raises(ValueError) as error:
        trailing_window(value, "'window_days'")
    assert str(error.value) == f"'window_days' must be a whole number of days, got {value!r}"
