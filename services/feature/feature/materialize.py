"""Materialises the online store that serving reads: the curated weather, planes and airports,
the arrival events of every flight that arrived, the origins the curated flights left from,
and their data start and horizon (see libs/online_store)."""

from __future__ import annotations

from pathlib import Path

from feature.read_curated import read_curated
from feature.training_table import placed_arrival_events
from feature.window import window_argument
from feature_definitions.labels import ARRIVED, outcomes
from feature_definitions.weather import origins_without_weather
from online_store.store import data_horizon, data_start, flight_origins, write_store


def materialize(
    curated: Path, output: Path, window_days: int
) -> tuple[dict[str, int], dict[str, int]]:
    """Write the store file `output` from the curated tree; return its rows per table, and the
    flights of each origin it holds no weather of (the store refuses them)."""
    window = window_argument(window_days)
    tables = read_curated(curated)
    flights = tables["flights"]
    arrived = flights[outcomes(flights["dep_time"], flights["arr_delay"]) == ARRIVED]
    # The same events the training table's history features were computed from.
    events = placed_arrival_events(arrived, tables["airports"])
    rows = write_store(
        output,
        weather=tables["weather"],
        planes=tables["planes"],
        airports=tables["airports"],
        events=events,
        window=window,
        # Of every curated flight, cancelled ones too: they are seen, though they never arrive.
        horizon=data_horizon(flights),
        start=data_start(flights),
        origins=flight_origins(flights),
    )
    return rows, origins_without_weather(flights, tables["weather"])
