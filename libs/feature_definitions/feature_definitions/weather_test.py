import math
from collections.abc import Mapping

import pandas as pd
import pytest

from feature_definitions.errors import FeatureInputError
from feature_definitions.weather import (
    WEATHER_COLUMNS,
    WEATHER_FILLS,
    WEATHER_LEAD,
    flights_after_weather_ends,
    origins_without_weather,
    weather_features,
    weather_hour,
)

DAY = pd.Timedelta(days=1)


def weather_rows(*rows: Mapping[str, object]) -> pd.DataFrame:
    base = {c: 1.0 for c in WEATHER_COLUMNS}
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["time_hour"] = pd.to_datetime(frame["time_hour"], utc=True)
    return frame


def test_joins_the_lead_hour_at_the_origin_and_fills_what_is_missing() -> None:
    weather = weather_rows(
        {"origin": "EWR", "time_hour": "2013-01-01T10:00:00Z", "temp": 39.02, "wind_speed": 10.4,
         "wind_gust": None, "pressure": None},
        {"origin": "JFK", "time_hour": "2013-01-01T10:00:00Z", "temp": 39.9, "wind_gust": 25.3},
        {"origin": "EWR", "time_hour": "2013-01-01T11:00:00Z", "temp": 40.0},
    )  # fmt: skip
    flights = pd.DataFrame(
        {
            "origin": ["EWR", "JFK", "LGA", "EWR"],
            "time_hour": pd.to_datetime(
                ["2013-01-02T10:00Z"] * 3 + ["2013-01-02T12:00Z"], utc=True
            ),
        },
        index=[7, 8, 9, 10],
    )
    features = weather_features(flights["origin"], flights["time_hour"], weather)

    assert list(features.index) == [7, 8, 9, 10]
    assert features["weather_known"].tolist() == [1, 1, 0, 0]
    assert features["temp"].tolist() == [39.02, 39.9, WEATHER_FILLS["temp"], WEATHER_FILLS["temp"]]
    # A missing gust is the wind speed; a missing pressure the standard one.
    assert features.loc[7, "wind_gust"] == 10.4
    assert features.loc[8, "wind_gust"] == 25.3
    assert features.loc[7, "pressure"] == 1013.25
    unknown = features.loc[9]
    assert unknown["wind_gust"] == unknown["wind_speed"] == WEATHER_FILLS["wind_speed"]
    assert not features.isna().any().any()


def test_a_naive_time_is_new_york_time() -> None:
    weather = weather_rows({"origin": "EWR", "time_hour": "2013-01-01T10:00:00Z", "temp": 39.02})
    features = weather_features(pd.Series(["EWR"]), pd.Series(["2013-01-02 05:00:00"]), weather)
    assert features["temp"].tolist() == [39.02]


def test_duplicate_weather_hours_are_rejected() -> None:
    row = {"origin": "EWR", "time_hour": "2013-01-01T10:00:00Z"}
    with pytest.raises(FeatureInputError, match="1 duplicate \\(origin, time_hour\\)"):
        weather_features(
            pd.Series(["EWR"]), pd.Series(["2013-01-01 05:00:00"]), weather_rows(row, row)
        )


def test_real_weather_of_a_known_flight(first_ten_days: dict[str, pd.DataFrame]) -> None:
    # UA 1453, EWR 05:15 on 2 January 2013: the weather of 1 January at EWR 05:00 (10:00Z),
    # 39.02 °F, 1011.9 hPa (at 04:00 it was 1012.2 hPa, at 06:00 1012.4), not its own hour's,
    # 24.08 °F and 1016.9 hPa.
    flights = first_ten_days["flights"]
    ua1453 = flights[(flights["flight"] == 1453) & (flights["day"] == 2)]
    features = weather_features(ua1453["origin"], ua1453["time_hour"], first_ten_days["weather"])
    assert features["weather_known"].tolist() == [1]
    assert features["temp"].iloc[0] == 39.02
    assert math.isclose(features["wind_speed"].iloc[0], 12.65858)
    assert features["pressure"].iloc[0] == 1011.9


def test_a_flight_gets_the_reading_a_day_before_its_departure_hour_not_that_hours() -> None:
    """The lead is pinned: a flight of hour H gets the reading of H - 24h, which the online store
    holds when the flight is scored, and never H's, which upstream makes late in H (near :51)."""
    assert WEATHER_LEAD == DAY
    weather = weather_rows(
        {"origin": "LGA", "time_hour": "2013-03-09T14:00:00Z", "temp": 30.0},
        {"origin": "LGA", "time_hour": "2013-03-10T13:00:00Z", "temp": 35.0},
        {"origin": "LGA", "time_hour": "2013-03-10T14:00:00Z", "temp": 40.0},
    )
    # 14:00Z on the 10th is 10:00 daylight time, the day New York moved its clocks: the lead
    # is 24 hours of UTC, so the reading is 09:00 standard time's of the 9th.
    flights = pd.DataFrame(
        {"origin": ["LGA"], "time_hour": pd.to_datetime(["2013-03-10T14:00Z"], utc=True)}
    )
    assert weather_hour(flights["time_hour"]).tolist() == [pd.Timestamp("2013-03-09T14:00Z")]
    features = weather_features(flights["origin"], flights["time_hour"], weather)
    assert features["weather_known"].tolist() == [1]
    assert features["temp"].tolist() == [30.0]
    # A flight whose lead hour was not observed gets the fills, whatever its own hour holds.
    later = pd.Series(pd.to_datetime(["2013-03-10T15:00Z"], utc=True))
    unobserved = weather_features(pd.Series(["LGA"]), later, weather)
    assert unobserved["weather_known"].tolist() == [0]
    assert unobserved["temp"].tolist() == [WEATHER_FILLS["temp"]]


def test_flights_past_their_origin_s_last_weather_are_counted_per_origin() -> None:
    """A feed that stopped part-way gave its origin's later flights the fills without a word;
    an origin with no weather at all is origins_without_weather's, not this count's."""
    weather = weather_rows(
        {"origin": "EWR", "time_hour": "2013-01-01T10:00:00Z"},
        {"origin": "EWR", "time_hour": "2013-01-01T09:00:00Z"},
        {"origin": "JFK", "time_hour": "2013-01-05T10:00:00Z"},
    )
    flights = pd.DataFrame(
        {
            "origin": ["EWR", "EWR", "EWR", "JFK", "LGA"],
            # Their weather hours: the last EWR reading, an hour past it, a day past it; JFK's
            # before its last; LGA's none.
            "time_hour": pd.to_datetime(
                ["2013-01-02T10:00Z", "2013-01-02T11:00Z", "2013-01-03T10:00Z",
                 "2013-01-02T10:00Z", "2013-01-09T10:00Z"],
                utc=True,
            ),
        }
    )  # fmt: skip
    assert flights_after_weather_ends(flights, weather) == {"EWR": 2}
    assert origins_without_weather(flights, weather) == {"LGA": 1}
    assert flights_after_weather_ends(flights.iloc[[0, 3]], weather) == {}
