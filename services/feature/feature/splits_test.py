import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feature.errors import InputError
from feature.splits import SplitDates, assign_splits

DATES = SplitDates(dt.date(2013, 9, 30), dt.date(2013, 10, 31))


def test_splits_follow_the_new_york_date_of_departure() -> None:
    time_hour = pd.Series(
        pd.to_datetime(
            [
                "2013-10-01T03:00:00Z",  # 23:00 on 30 September in New York
                "2013-10-01T04:00:00Z",  # midnight, 1 October
                "2013-11-01T03:00:00Z",  # 23:00 on 31 October
                "2013-11-01T04:00:00Z",  # 1 November
            ],
            utc=True,
        ),
        index=[4, 5, 6, 7],
    )
    split = assign_splits(time_hour, DATES)
    assert split.tolist() == ["train", "validation", "validation", "test"]
    assert list(split.index) == [4, 5, 6, 7]


@pytest.mark.parametrize("validation_end", [dt.date(2013, 9, 30), dt.date(2013, 9, 1)])
def test_validation_must_end_after_train(validation_end: dt.date) -> None:
    with pytest.raises(InputError, match=f"--validation-end {validation_end} must be after"):
        SplitDates(dt.date(2013, 9, 30), validation_end)


NEW_YORK = ZoneInfo("America/New_York")


def end_of_new_york_day(day: dt.date) -> dt.datetime:
    """The instant `day` ends in New York: the midnight that starts the next day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), NEW_YORK)


@given(
    train_end=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)),
    validation_days=st.integers(min_value=1, max_value=400),
    # Departures within a day and a half of either split's end, where a time zone slip shows.
    near_ends=st.lists(
        st.tuples(st.booleans(), st.integers(min_value=-36 * 60, max_value=36 * 60)), max_size=40
    ),
)
def test_each_departure_falls_in_the_split_of_its_new_york_date(
    train_end: dt.date, validation_days: int, near_ends: list[tuple[bool, int]]
) -> None:
    dates = SplitDates(train_end, train_end + dt.timedelta(days=validation_days))
    instants = [
        (
            end_of_new_york_day(
                dates.train_end if at_train_end else dates.validation_end
            ).astimezone(dt.UTC)
            + dt.timedelta(minutes=minutes)
        )
        for at_train_end, minutes in near_ends
    ]
    time_hour = pd.Series(pd.to_datetime(instants, utc=True), dtype="datetime64[ns, UTC]")

    split = assign_splits(time_hour, dates)

    # The New York date by the standard library's time zone rules, not pandas'.
    days = [instant.astimezone(NEW_YORK).date() for instant in instants]
    expected = [
        "train"
        if day <= dates.train_end
        else "validation"
        if day <= dates.validation_end
        else "test"
        for day in days
    ]
    assert split.tolist() == expected
    assert list(split.index) == list(time_hour.index)
