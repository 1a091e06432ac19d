"""The training table: one row per flight that arrived, with its features and label, all
computed by libs/feature_definitions (the code serving uses online)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from contracts.flights import NATURAL_KEY
from feature.errors import InputError
from feature_definitions.features import FEATURE_COLUMNS, Lookups, compute_features
from feature_definitions.history import arrival_events
from feature_definitions.labels import ARRIVED, CANCELLED, DIVERTED, LABEL, delayed, outcomes
from feature_definitions.planes import PLANE_KNOWN
from feature_definitions.weather import WEATHER_KNOWN

# Key columns first; carrier and origin are both key and feature, so they appear once.
TABLE_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys((*NATURAL_KEY, "time_hour", *FEATURE_COLUMNS, LABEL))
)


@dataclass(frozen=True)
class TableCounts:
    rows_in: int
    dropped_cancelled: int
    dropped_diverted: int
    rows_out: int
    # Arrived flights whose destination has no known time zone: never counted in history.
    history_unplaced: int
    weather_known_rows: int
    plane_known_rows: int


def placed_arrival_events(arrived: pd.DataFrame, airports: pd.DataFrame) -> pd.DataFrame:
    """history.arrival_events of the arrived flights; InputError when the airports table is
    empty or places none of them in time: the history features would be 0 for every flight
    not placed, offline and online. Some unplaced (a destination outside the table and
    feature_definitions.instants.EXTRA_TIMEZONES) are counted as history_unplaced."""
    events = arrival_events(arrived, airports)
    unplaced = int(events["arrival"].isna().sum())
    if len(events) and (airports.empty or unplaced == len(events)):
        raise InputError(
            f"the curated airports table has {len(airports)} rows and places "
            f"{len(events) - unplaced} of the {len(events)} arrived flights in time (by their "
            "destination's zone): the history features of the others would all be 0"
        )
    return events


def training_table(
    tables: Mapping[str, pd.DataFrame], window: pd.Timedelta
) -> tuple[pd.DataFrame, TableCounts]:
    """TABLE_COLUMNS for every arrived flight, ordered by scheduled departure hour, then key."""
    flights = tables["flights"]
    outcome = outcomes(flights["dep_time"], flights["arr_delay"])
    arrived = flights[outcome == ARRIVED]
    events = placed_arrival_events(arrived, tables["airports"])
    lookups = Lookups(weather=tables["weather"], planes=tables["planes"], events=events)
    features = compute_features(arrived, lookups, window)
    table = pd.concat(
        [
            arrived[[*NATURAL_KEY, "time_hour"]],
            features.drop(columns=[c for c in NATURAL_KEY if c in features.columns]),
        ],
        axis="columns",
    )
    table[LABEL] = delayed(arrived["arr_delay"])
    table = table[list(TABLE_COLUMNS)].sort_values(["time_hour", *NATURAL_KEY], kind="stable")
    counts = TableCounts(
        rows_in=len(flights),
        dropped_cancelled=int((outcome == CANCELLED).sum()),
        dropped_diverted=int((outcome == DIVERTED).sum()),
        rows_out=len(table),
        history_unplaced=int(events["arrival"].isna().sum()),
        weather_known_rows=int(table[WEATHER_KNOWN].sum()),
        plane_known_rows=int(table[PLANE_KNOWN].sum()),
    )
    return table.reset_index(drop=True), counts
