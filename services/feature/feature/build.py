"""One feature build: read curated tables, build the training table, split it by date, and
write the splits, the train statistics and a summary into the output directory, atomically
(a failed or killed run leaves the previous output as it was).

stats.json also carries the PSI threshold above which a served feature has drifted
(params.yaml's monitor.psi_threshold, given as --psi-threshold; feature_definitions.drift_threshold
says why it travels there) and the trailing window the features were computed over (--window-days;
feature_definitions.trailing_window says why)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from feature.errors import InputError
from feature.read_curated import read_curated
from feature.splits import SPLITS, SplitDates, assign_splits
from feature.stats import feature_stats
from feature.training_table import training_table
from feature.window import window_argument
from feature_definitions.drift_threshold import PSI_THRESHOLD_KEY, psi_threshold_value
from feature_definitions.features import FEATURE_KINDS
from feature_definitions.labels import LABEL
from feature_definitions.trailing_window import STATS_FILE, WINDOW_DAYS_KEY
from feature_definitions.weather import (
    WEATHER_LEAD_HOURS,
    WEATHER_LEAD_HOURS_KEY,
    flights_after_weather_ends,
    origins_without_weather,
)
from storage.atomic import staged_directory

SUMMARY_FILE = "summary.json"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def build_features(
    curated: Path, output: Path, dates: SplitDates, window_days: int, psi_threshold: float
) -> dict[str, Any]:
    """Write `<output>/{train,validation,test}.parquet`, stats.json and summary.json; return
    the summary."""
    window = window_argument(window_days)
    try:
        psi_threshold = psi_threshold_value(psi_threshold, "--psi-threshold")
    except ValueError as error:
        raise InputError(str(error)) from None
    tables = read_curated(curated)
    table, counts = training_table(tables, window)
    split = assign_splits(table["time_hour"], dates)
    parts = {name: table[split == name].reset_index(drop=True) for name in SPLITS}
    if parts["train"].empty:
        raise InputError(f"no arrived flight departs on or before --train-end {dates.train_end}")
    # Training picks its threshold on validation, and evaluation scores test: neither may be
    # empty, and it is the dates given here that make them so.
    if parts["validation"].empty:
        raise InputError(
            f"no arrived flight departs after --train-end {dates.train_end} and on or before "
            f"--validation-end {dates.validation_end}: the validation split would be empty"
        )
    if parts["test"].empty:
        raise InputError(
            f"no arrived flight departs after --validation-end {dates.validation_end}: the test "
            "split would be empty"
        )
    summary = {
        **asdict(counts),
        "rows_per_split": {name: len(part) for name, part in parts.items()},
        "delayed_share_per_split": {
            name: float(part[LABEL].mean()) for name, part in parts.items()
        },
        "train_end": dates.train_end.isoformat(),
        "validation_end": dates.validation_end.isoformat(),
        "window_days": window_days,
        WEATHER_LEAD_HOURS_KEY: WEATHER_LEAD_HOURS,
        # Rows of the table that take the weather fills for want of any weather at their
        # origin (the online store refuses their flights), or of any after their weather hour
        # (a feed that stopped part-way; the store's horizon for the origin ends with it).
        "origins_without_weather": origins_without_weather(table, tables["weather"]),
        "rows_after_weather_ends": flights_after_weather_ends(table, tables["weather"]),
        "features": FEATURE_KINDS,
        "label": LABEL,
    }
    stats = {
        "split": "train",
        "rows": len(parts["train"]),
        "features": feature_stats(parts["train"]),
        PSI_THRESHOLD_KEY: psi_threshold,
        WINDOW_DAYS_KEY: window_days,
        WEATHER_LEAD_HOURS_KEY: WEATHER_LEAD_HOURS,
    }
    with staged_directory(output) as staging:
        for name, part in parts.items():
            part.to_parquet(staging / f"{name}.parquet", index=False)
        (staging / STATS_FILE).write_text(_json(stats))
        (staging / SUMMARY_FILE).write_text(_json(summary))
    return summary
