"""Builds the training table: calendar features plus the label for each scheduled flight."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from contracts.flights import FLIGHTS, NATURAL_KEY
from feature_definitions.calendar import calendar_features
from storage.atomic import atomic_output

LABEL = "delayed"
DELAY_THRESHOLD_MINUTES = 15


def training_table(flights: pd.DataFrame) -> pd.DataFrame:
    """One row per flight that arrived: its natural key, features and label.

    Flights with no arrival delay (cancelled or diverted) have no label and are left out.
    """
    FLIGHTS.check_columns(flights.columns, source="curated flights")
    arrived = flights[flights["arr_delay"].notna()]
    table = pd.concat(
        [arrived[list(NATURAL_KEY)], calendar_features(arrived["time_hour"])],
        axis="columns",
    )
    table[LABEL] = (arrived["arr_delay"] > DELAY_THRESHOLD_MINUTES).astype("int8")
    return table.reset_index(drop=True)


def build_table_file(curated: Path, output: Path) -> int:
    table = training_table(pd.read_parquet(curated))
    with atomic_output(output) as tmp:
        table.to_parquet(tmp, index=False)
    return len(table)
