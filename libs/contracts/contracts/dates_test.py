import argparse
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.dates import calendar_date


@given(st.dates(min_value=dt.date(1000, 1, 1)))
def test_every_day_in_its_iso_form_is_read_back(day: dt.date) -> None:
    assert calendar_date(day.isoformat()) == day


@given(st.text(max_size=12))
def test_any_other_text_is_refused_naming_the_form(text: str) -> None:
    try:
        day = calendar_date(text)
    except argparse.ArgumentTypeError as error:
        assert str(error).startswith(f"{text!r} is not a date (YYYY-MM-DD)")
    else:
        assert day.isoformat() == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2013-1-1", "'2013-1-1' is not a date (YYYY-MM-DD)"),
        ("20130101", "'20130101' is not a date (YYYY-MM-DD)"),
        ("2013-W01-1", "'2013-W01-1' is not a date (YYYY-MM-DD)"),
        ("2013-02-30", "'2013-02-30' is not a date (YYYY-MM-DD): day is out of range for month"),
        ("2013-13-01", "'2013-13-01' is not a date (YYYY-MM-DD): month must be in 1..12"),
    ],
)
def test_a_malformed_or_impossible_day_is_named(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as error:
        calendar_date(text)
    assert str(error.value) == message
