from pathlib import Path

import numpy as np
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
from model_registry.predictor import (
    MANIFEST,
    PredictorError,
    SklearnPredictor,
    TorchPredictor,
    load_predictor,
)

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


@pytest.mark.parametrize("make", [sklearn_predictor, torch_predictor])
def test_a_saved_predictor_loads_and_scores_identically(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    predictor = make()
    predictor.save(tmp_path / "model")
    loaded = load_predictor(tmp_path / "model")
    assert loaded.kind == predictor.kind
    assert loaded.threshold == predictor.threshold
    assert loaded.features == FEATURES
    expected = predictor.predict_proba(frame())
    assert np.array_equal(loaded.predict_proba(frame()), expected)
    assert ((expected >= 0) & (expected <= 1)).all()
    assert (
        loaded.predict(frame()).tolist() == (expected >= predictor.threshold).astype(int).tolist()
    )


@pytest.mark.parametrize("make", [sklearn_predictor, torch_predictor])
def test_scores_serving_frames_with_unseen_categories_and_extra_columns(make) -> None:  # type: ignore[no-untyped-def]
    request = pd.DataFrame({"dep_hour": [9, 21], "origin": ["JFK", "EWR"], "carrier": ["ZZ", "UA"]})
    probabilities = make().predict_proba(request)
    assert probabilities.shape == (2,)
    assert np.isfinite(probabilities).all()


def test_a_missing_feature_or_a_non_finite_value_is_named() -> None:
    predictor = torch_predictor()
    with pytest.raises(PredictorError, match="lacks column\\(s\\) dep_hour"):
        predictor.predict_proba(frame().drop(columns=["dep_hour"]))
    holed = frame().astype({"dep_hour": "float64"})
    holed.loc[2, "dep_hour"] = np.inf
    with pytest.raises(PredictorError, match="dep_hour \\(1 rows\\)"):
        predictor.predict_proba(holed)
    with pytest.raises(PredictorError, match="feature dep_hour is not numeric"):
        predictor.predict_proba(frame().assign(dep_hour="early"))


def test_a_directory_without_a_manifest_is_not_a_predictor(tmp_path: Path) -> None:
    with pytest.raises(PredictorError, match=f"no {MANIFEST}"):
        load_predictor(tmp_path)
