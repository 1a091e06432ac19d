"""Every model feature, declared once, and the one function that computes them all.

`compute_features` is what the feature service runs over a year of flights and what the serving
service runs over a request: the same code on the same inputs gives the same features. Its
inputs are flights (REQUEST_COLUMNS) and lookups: the weather and planes tables and the arrival
events of flights that already arrived (`history.arrival_events`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from feature_definitions.calendar import CALENDAR_FEATURES, calendar_features, local_time
from feature_definitions.errors import FeatureInputError
from feature_definitions.history import (
    EVENT_COLUMNS,
    HISTORY_FEATURES,
    HISTORY_GROUPS,
    history_features,
)
from feature_definitions.instants import scheduled_departure
from feature_definitions.planes import PLANE_FEATURES, PLANE_LOOKUP_COLUMNS, plane_features
from feature_definitions.weather import WEATHER_COLUMNS, WEATHER_FEATURES, weather_features

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class Feature:
    name: str
    kind: Kind


CATEGORICAL_FEATURES: tuple[str, ...] = ("carrier", "origin", "dest")
FEATURES: tuple[Feature, ...] = (
    *(Feature(name, "categorical") for name in CATEGORICAL_FEATURES),
    *(
        Feature(name, "numeric")
        for name in (
            "distance",
            *CALENDAR_FEATURES,
            *WEATHER_FEATURES,
            *PLANE_FEATURES,
            *HISTORY_FEATURES,
        )
    ),
)
FEATURE_COLUMNS: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
FEATURE_KINDS: dict[str, Kind] = {feature.name: feature.kind for feature in FEATURES}

# What a flight to score must say; only tailnum may be missing (the plane is then unknown).
REQUEST_COLUMNS: tuple[str, ...] = (
    "time_hour",
    "sched_dep_time",
    "carrier",
    "origin",
    "dest",
    "distance",
    "tailnum",
)
NULLABLE_REQUEST_COLUMNS: tuple[str, ...] = ("tailnum",)


@dataclass(frozen=True)
class Lookups:
    """weather: (origin, time_hour) and the weather readings; planes: tailnum, year, seats,
    engines; events: `history.arrival_events` of the flights that arrived before."""

    weather: pd.DataFrame
    planes: pd.DataFrame
    events: pd.DataFrame


def compute_features(flights: pd.DataFrame, lookups: Lookups, window: pd.Timedelta) -> pd.DataFrame:
    """FEATURE_COLUMNS for each flight, on the flights' index, with no NaN or infinity."""
    _check_request(flights)
    _check_lookups(lookups)
    departure = scheduled_departure(flights["time_hour"], flights["sched_dep_time"])
    request = pd.DataFrame(
        {name: flights[name].astype("string") for name in CATEGORICAL_FEATURES},
        index=flights.index,
    )
    request["distance"] = flights["distance"].astype("float64")
    parts = [
        request,
        calendar_features(flights["time_hour"]),
        weather_features(flights["origin"], flights["time_hour"], lookups.weather),
        plane_features(
            flights["tailnum"], local_time(flights["time_hour"]).dt.year, lookups.planes
        ),
        history_features(flights[list(HISTORY_GROUPS)], departure, lookups.events, window),
    ]
    features = pd.concat(parts, axis="columns")[list(FEATURE_COLUMNS)]
    check_complete(features)
    return features


def _check_lookups(lookups: Lookups) -> None:
    needed = {
        "weather": ("origin", "time_hour", *WEATHER_COLUMNS),
        "planes": PLANE_LOOKUP_COLUMNS,
        "events": EVENT_COLUMNS,
    }
    for name, columns in needed.items():
        table: pd.DataFrame = getattr(lookups, name)
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise FeatureInputError(f"lookup {name} lacks column(s) {', '.join(missing)}")


def _check_request(flights: pd.DataFrame) -> None:
    missing = [c for c in REQUEST_COLUMNS if c not in flights.columns]
    if missing:
        raise FeatureInputError(f"flights lack column(s) {', '.join(missing)}")
    for column in REQUEST_COLUMNS:
        if column in NULLABLE_REQUEST_COLUMNS:
            continue
        empty = int(flights[column].isna().sum())
        if empty:
            raise FeatureInputError(f"flights: {column} is missing in {empty} row(s)")


def check_complete(features: pd.DataFrame) -> None:
    """Raise FeatureInputError naming every feature with a missing or infinite value."""
    problems = []
    for column in features.columns:
        values = features[column]
        if FEATURE_KINDS.get(column) == "numeric":
            bad = int((~np.isfinite(values.to_numpy(dtype="float64"))).sum())
        else:
            bad = int(values.isna().sum())
        if bad:
            problems.append(f"{column} ({bad} rows)")
    if problems:
        raise FeatureInputError(f"features with missing or infinite values: {', '.join(problems)}")
