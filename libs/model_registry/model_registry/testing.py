"""Test support for code that uses the model store: each test gets a BentoML home of its own;
and small predictors of both kinds over two features.

Import the fixture where the tests are collected (a conftest.py, or the test module):

    from model_registry.testing import bentoml_env  # noqa: F401 (an autouse fixture)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from feature_definitions.features import Feature
from model_registry.encoding import TabularEncoding
from model_registry.network import NetworkConfig, WideDeepNet
from model_registry.predictor import SklearnPredictor, TorchPredictor
from model_registry.store import DO_NOT_TRACK_ENV, HOME_ENV


@pytest.fixture(autouse=True)
def bentoml_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BentoML's own configuration points at the test's directory, never the user's home, and
    sends nothing anywhere."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "global"))
    monkeypatch.setenv(DO_NOT_TRACK_ENV, "true")


FEATURES = (Feature("carrier", "categorical"), Feature("dep_hour", "numeric"))


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "carrier": pd.Series(["UA", "AA", "UA", "B6", "AA", "B6"], dtype="string"),
            "dep_hour": [6, 12, 18, 22, 7, 20],
            "delayed": [0, 0, 1, 1, 0, 1],
        }
    )


def sklearn_predictor() -> SklearnPredictor:
    encode = ColumnTransformer(
        [("carrier", OneHotEncoder(handle_unknown="ignore"), ["carrier"])],
        remainder="passthrough",
    )
    pipeline = Pipeline([("encode", encode), ("model", LogisticRegression())])
    table = frame()
    pipeline.fit(table[["carrier", "dep_hour"]].astype({"carrier": object}), table["delayed"])
    return SklearnPredictor(pipeline, FEATURES, threshold=0.5)


def torch_predictor() -> TorchPredictor:
    torch.manual_seed(0)
    encoding = TabularEncoding.fit(frame(), ["carrier"], ["dep_hour"])
    config = NetworkConfig(encoding.cardinalities, (2,), numeric=1, hidden=(4,), dropout=0.1)
    return TorchPredictor(encoding, WideDeepNet(config), FEATURES, threshold=0.4)
