"""A synthetic feature table with the feature service's columns and a learnable label: late
departures, rain, one carrier and a high trailing delay rate make a delay likelier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feature_definitions.features import FEATURES
from feature_definitions.labels import LABEL
from model_registry.testing import bentoml_env  # noqa: F401 (an autouse fixture: every test)

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


def write_features(directory: Path, rows: tuple[int, int, int] = (3000, 1000, 1000)) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for seed, (split, count) in enumerate(zip(("train", "validation", "test"), rows, strict=True)):
        synthetic_split(count, seed).to_parquet(directory / f"{split}.parquet", index=False)
    return directory


@pytest.fixture
def features(tmp_path: Path) -> Path:
    return write_features(tmp_path / "features")


# Small and quick: the tests check behaviour, not quality on real data.
FAST = [
    "--set=train.torch.epochs=8",
    "--set=train.torch.batch_size=128",
    "--set=train.torch.learning_rate=0.01",
    "--set=train.torch.hidden=[32]",
    "--set=train.baseline.max_iter=50",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A synthetic feature table and both models fitted on it: (features, models)."""
    from train.cli import main

    base = tmp_path_factory.mktemp("trained")
    features = write_features(base / "features")
    models = base / "models"
    fit = ["fit", "--features", str(features), "--output", str(models), "--progress", "lines"]
    assert main([*fit, *FAST]) == 0
    return features, models
