import datetime as dt

import pandas as pd
import pytest

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
