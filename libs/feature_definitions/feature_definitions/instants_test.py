import pandas as pd
import pytest

from feature_definitions.errors import FeatureInputError
from feature_definitions.instants import (
    actual_arrival,
    destination_timezones,
    scheduled_arrival,
    scheduled_departure,
)

AIRPORTS = pd.DataFrame(
    {
        "faa": ["IAH", "HNL", "LAX", "BOS", "EEN"],
        "tzone": ["America/Chicago", "Pacific/Honolulu", "America/Los_Angeles",
                  "America/New_York", None],
    }
)  # fmt: skip


def utc(*texts: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(texts), utc=True))


def arrivals(
    time_hour: str, sched_dep: int, sched_arr: int, dest: str, arr_delay: float = 0.0
) -> pd.Timestamp:
    arrival = actual_arrival(
        utc(time_hour),
        pd.Series([sched_dep]),
        pd.Series([sched_arr]),
        pd.Series([dest]),
        pd.Series([arr_delay]),
        AIRPORTS,
    )
    instant: pd.Timestamp = arrival.iloc[0]
    return instant


def test_scheduled_departure_adds_the_minutes_to_the_hour() -> None:
    # UA 1545 on 1 January 2013: scheduled 05:15 in New York, time_hour 10:00Z.
    departure = scheduled_departure(utc("2013-01-01T10:00:00Z"), pd.Series([515]))
    assert departure.iloc[0] == pd.Timestamp("2013-01-01T10:15:00Z")


def test_arrival_is_local_to_the_destination() -> None:
    # UA 1545 EWR-IAH: scheduled to arrive 08:19 Houston time, 11 minutes late: 14:30Z.
    assert arrivals("2013-01-01T10:00:00Z", 515, 819, "IAH", 11) == pd.Timestamp(
        "2013-01-01T14:30:00Z"
    )


def test_an_arrival_clock_time_before_the_departure_is_the_next_day() -> None:
    # Leaves New York 21:00 EST (02:00Z on the 2nd), lands 01:30 in Honolulu (UTC-10).
    assert arrivals("2013-01-02T02:00:00Z", 2100, 130, "HNL") == pd.Timestamp(
        "2013-01-02T11:30:00Z"
    )
    # Leaves 19:00 EDT, lands 22:10 in Los Angeles the same day (05:10Z the next).
    assert arrivals("2013-07-01T23:00:00Z", 1900, 2210, "LAX") == pd.Timestamp(
        "2013-07-02T05:10:00Z"
    )


def test_a_delay_past_midnight_moves_the_arrival_into_the_next_day() -> None:
    assert arrivals("2013-01-01T10:00:00Z", 515, 819, "IAH", 24 * 60) == pd.Timestamp(
        "2013-01-02T14:19:00Z"
    )


def test_caribbean_destinations_missing_upstream_use_the_declared_zones() -> None:
    zones = destination_timezones(pd.Series(["SJU", "STT", "IAH", "XXX", "EEN"]), AIRPORTS)
    assert zones.tolist()[:3] == ["America/Puerto_Rico", "America/St_Thomas", "America/Chicago"]
    assert zones.isna().tolist() == [False, False, False, True, True]
    # San Juan keeps UTC-4 in July, when New York is also UTC-4: 08:00 EDT + 3h35 = 15:35Z.
    assert arrivals("2013-07-01T12:00:00Z", 800, 1135, "SJU") == pd.Timestamp(
        "2013-07-01T15:35:00Z"
    )


def test_the_airports_table_wins_over_the_declared_zones() -> None:
    zones = destination_timezones(
        pd.Series(["SJU"]), pd.DataFrame({"faa": ["SJU"], "tzone": ["America/Chicago"]})
    )
    assert zones.tolist() == ["America/Chicago"]


@pytest.mark.parametrize("zone", ["America/Chicagoo", "Mars/Olympus_Mons"])
def test_a_time_zone_nobody_knows_is_named_with_its_airport(zone: str) -> None:
    airports = pd.DataFrame({"faa": ["IAH"], "tzone": [zone]})
    with pytest.raises(FeatureInputError, match=f"airports: tzone '{zone}' \\(of IAH\\)"):
        scheduled_arrival(
            utc("2013-01-01T10:00:00Z"), pd.Series([515]), pd.Series([819]), pd.Series(["IAH"]),
            airports,
        )  # fmt: skip


def test_an_unknown_destination_or_a_missing_delay_has_no_arrival() -> None:
    assert pd.isna(arrivals("2013-01-01T10:00:00Z", 515, 819, "XXX", 11))
    assert pd.isna(arrivals("2013-01-01T10:00:00Z", 515, 819, "EEN", 11))
    assert pd.isna(arrivals("2013-01-01T10:00:00Z", 515, 819, "IAH", float("nan")))


@pytest.mark.parametrize(
    ("local_arrival", "expected"),
    [
        # 01:30 on 3 November happens twice in New York: read as the first, daylight time.
        (130, "2013-11-03T05:30:00Z"),
        # 02:30 on 10 March never happens: read as written under standard time (03:30 EDT).
        (230, "2013-03-10T07:30:00Z"),
    ],
)
def test_daylight_saving_switch_nights(local_arrival: int, expected: str) -> None:
    day = "2013-11-03" if expected.startswith("2013-11") else "2013-03-10"
    # Leaves at 00:00 local (05:00Z on both dates), lands in Boston.
    arrival = scheduled_arrival(
        utc(f"{day}T05:00:00Z"),
        pd.Series([0]),
        pd.Series([local_arrival]),
        pd.Series(["BOS"]),
        AIRPORTS,
    )
    assert arrival.iloc[0] == pd.Timestamp(expected)
