import argparse
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.arguments import count, report_file, seconds


def _whole_number(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


@given(st.integers(min_value=1))
def test_a_whole_number_of_one_or_more_is_a_count(value: int) -> None:
    assert count(str(value)) == value


@given(st.integers(max_value=0).map(str) | st.text().filter(lambda text: not _whole_number(text)))
def test_anything_else_is_refused_as_a_count_naming_it(text: str) -> None:
    # Before, `--runs 0` ran the whole benchmark and then crashed on the median of no runs.
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        count(text)
    assert str(refused.value).startswith(f"{text!r} is not a whole number")


@given(st.floats(min_value=0, exclude_min=True, allow_infinity=False))
def test_a_finite_positive_number_is_seconds(value: float) -> None:
    assert seconds(repr(value)) == value


@pytest.mark.parametrize("text", ["0", "-1", "inf", "nan", "-inf", "ten", ""])
def test_anything_else_is_refused_as_seconds_naming_it(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        seconds(text)
    assert str(refused.value).startswith(f"{text!r} is not a")


@given(st.text(min_size=1).filter(lambda text: "\x00" not in text))
def test_any_text_but_the_empty_one_is_the_report_file_it_spells(text: str) -> None:
    assert report_file(text) == Path(text)


def test_an_empty_report_file_is_refused_not_taken_as_the_current_directory() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="empty: give a file's path"):
        report_file("")
