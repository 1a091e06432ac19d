"""Materialises the online store that serving reads: the curated weather, planes and airports,
the arrival events of every flight that arrived, and the data start and horizon of the curated
flights and weather (see libs/online_store)."""

from __future__ import annotations

from pathlib import Path

from feature.read_curated import read_curated
from feature.window import window_argument
from feature_definitions.history import arrival_events
from feature_definitions.labels import ARRIVED, outcomes
from online_store.store import data_horizon, data_start, write_store


def materialize(curated: Path, output: Path, window_days: int) -> dict[str, int]:
    """Write the store file `output` from the curated tree; return rows per table."""
    window = window_argument(window_days)
    tables = read_curated(curated)
    flights = tables["flights"]
    arrived = flights[outcomes(flights["dep_time"], flights["arr_delay"]) == ARRIVED]
    # The same events the training table's history features were computed from.
    events = arrival_events(arrived, tables["airports"])
    return write_store(
        output,
        weather=tables["weather"],
        planes=tables["planes"],
        airports=tables["airports"],
        events=events,
        window=window,
        # Of every curated flight, cancelled ones too: they are seen, though they never arrive.
        horizon=data_horizon(flights, tables["weather"]),
        start=data_start(flights),
    )
