import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from feature_definitions.drift_threshold import psi_threshold_value


@given(st.floats(min_value=0, exclude_min=True, allow_infinity=False))
def test_a_positive_finite_number_is_a_threshold(value: float) -> None:
    assert psi_threshold_value(value, "x") == value


# Up to past a float's range (about 2**1024); OverflowError escaped for 10**400.
@given(st.integers(min_value=1, max_value=2**1100))
@example(10**400)
@example(2**1024 - 1)
def test_a_whole_number_is_a_threshold_when_a_float_holds_it(value: int) -> None:
    try:
        expected = float(value)
    except OverflowError:
        with pytest.raises(ValueError, match=f"^x must be a positive finite number, got {value}$"):
            psi_threshold_value(value, "x")
    else:
        assert psi_threshold_value(value, "x") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0.2", "--psi-threshold must be a number, got '0.2'"),
        (None, "--psi-threshold must be a number, got None"),
        (True, "--psi-threshold must be a number, got True"),
        (0, "--psi-threshold must be a positive finite number, got 0"),
        (-0.1, "--psi-threshold must be a positive finite number, got -0.1"),
        (math.nan, "--psi-threshold must be a positive finite number, got nan"),
        (math.inf, "--psi-threshold must be a positive finite number, got inf"),
    ],
)
def test_anything_else_is_refused_by_name(value: object, message: str) -> None:
    with pytest.raises(ValueError) as error:
        psi_threshold_value(value, "--psi-threshold")
    assert str(error.value) == message
