"""The settings' numbers (flight_orchestration.settings) over the values a Variable can hold.
Plain Python, so this runs in the services' resolve, where Hypothesis is."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flight_orchestration import settings

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
# What an operator types into a Variable: numbers in any spelling, and text.
VARIABLE_VALUES = (
    st.floats(allow_nan=True, allow_infinity=True).map(repr)
    | st.integers().map(str)
    | st.text(max_size=30)
)


@given(value=VARIABLE_VALUES)
def test_every_cooldown_the_check_accepts_has_a_start(value: str) -> None:
    """The drift check's cooldown began `hours` before now, or before any date (None): a
    cooldown the Variable accepted but no timedelta holds failed every check with a bare
    OverflowError."""
    try:
        hours = settings.parse_hours(value, "Airflow Variable flight_delay_retrain_cooldown_hours")
    except settings.SettingError:
        return
    start = settings.hours_before(NOW, hours)
    assert start is None or start <= NOW
    if start is None:
        assert hours > 1e7  # more than a thousand years


@pytest.mark.parametrize("hours", [0.0, 24.0, 1e7])
def test_a_representable_cooldown_starts_that_many_hours_ago(hours: float) -> None:
    assert settings.hours_before(NOW, hours) == NOW - dt.timedelta(hours=hours)
