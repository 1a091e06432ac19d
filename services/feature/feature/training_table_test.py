import pandas as pd
import pytest

from feature.conftest import MISSING_WEATHER
from feature.training_table import TABLE_COLUMNS, training_table
from feature_definitions.features import FEATURE_COLUMNS
from feature_definitions.weather import WEATHER_LEAD

WEEK = pd.Timedelta(days=7)


def row(table: pd.DataFrame, day: int, carrier: str, sched_dep: int) -> pd.Series:
    match = table[
        (table["day"] == day)
        & (table["carrier"] == carrier)
        & (table["sched_dep_time"] == sched_dep)
    ]
    assert len(match) == 1
    return match.iloc[0]


def test_cancelled_and_diverted_flights_are_left_out_and_counted(
    curated_tables: dict[str, pd.DataFrame],
) -> None:
    table, counts = training_table(curated_tables, WEEK)
    assert (counts.rows_in, counts.dropped_cancelled, counts.dropped_diverted) == (60, 1, 1)
    assert counts.rows_out == len(table) == 58
    on_5_june = table[(table["day"] == 5) & (table["carrier"] == "UA")]
    assert on_5_june["sched_dep_time"].tolist() == [800]


def test_columns_key_time_features_label_and_the_label_rule(
    curated_tables: dict[str, pd.DataFrame],
) -> None:
    table, _ = training_table(curated_tables, WEEK)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert set(FEATURE_COLUMNS) <= set(table.columns)
    arrived = curated_tables["flights"].dropna(subset=["arr_delay"])
    expected = arrived.set_index(["day", "carrier", "sched_dep_time"])["arr_delay"] > 15
    got = table.set_index(["day", "carrier", "sched_dep_time"])["delayed"]
    assert (got == expected.loc[got.index].astype("int8")).all()
    assert table["time_hour"].is_monotonic_increasing


def test_weather_and_plane_joins_with_their_known_flags(
    curated_tables: dict[str, pd.DataFrame],
) -> None:
    table, counts = training_table(curated_tables, WEEK)
    ua = row(table, 2, "UA", 1200)
    assert (ua["weather_known"], ua["temp"], ua["pressure"]) == (1, 72.0, 1015.0)
    assert (ua["plane_known"], ua["plane_age"], ua["seats"]) == (1, 14, 149)
    aa = row(table, 2, "AA", 1200)
    assert (aa["pressure"], aa["plane_known"]) == (1016.0, 0)
    # A flight's weather is the reading a day before its hour: those a day after the missing one
    # take the fills.
    same_hour = table[table["time_hour"] == MISSING_WEATHER + WEATHER_LEAD].set_index("origin")
    assert same_hour[["weather_known", "pressure"]].to_dict("index") == {
        "EWR": {"weather_known": 0, "pressure": 1013.25},
        "JFK": {"weather_known": 1, "pressure": 1016.0},
    }
    # Nor has any of the first day's 6 flights weather: the data starts that day.
    first_day = table[table["day"] == 1]
    assert len(first_day) == 6 and (first_day["weather_known"] == 0).all()
    assert counts.weather_known_rows == 51 and counts.plane_known_rows == 28


def test_history_counts_only_flights_that_arrived_before_departure(
    curated_tables: dict[str, pd.DataFrame],
) -> None:
    table, counts = training_table(curated_tables, WEEK)
    # Before UA's 08:00 on 6 June, 15 UA flights were scheduled (1-5 June): one was cancelled
    # and one diverted, so 13 arrived. Its own arrival comes later and is not counted.
    first_on_6_june = row(table, 6, "UA", 800)
    assert first_on_6_june["carrier_trailing_flights"] == 13
    arrived_before = table[(table["carrier"] == "UA") & (table["day"] <= 5)]
    assert first_on_6_june["carrier_trailing_delay_rate"] == pytest.approx(
        arrived_before["delayed"].mean()
    )
    # The first flights of all have no history; the empty window's rate is 0.
    first = row(table, 1, "UA", 800)
    assert (first["carrier_trailing_flights"], first["carrier_trailing_delay_rate"]) == (0, 0.0)
    assert counts.history_unplaced == 0


def test_an_unknown_destination_time_zone_is_counted_not_guessed(
    curated_tables: dict[str, pd.DataFrame],
) -> None:
    tables = dict(curated_tables, airports=curated_tables["airports"].iloc[:1])  # no LAX
    table, counts = training_table(tables, WEEK)
    assert counts.history_unplaced == 30  # every AA flight to LAX
    assert len(table) == 58
    assert row(table, 9, "AA", 800)["carrier_trailing_flights"] == 0
