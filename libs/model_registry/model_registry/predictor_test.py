import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model_registry.predictor import (
    MANIFEST,
    ModelIntegrityError,
    PredictorError,
    load_predictor,
)
from model_registry.testing import FEATURES, frame, sklearn_predictor, torch_predictor


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


@pytest.mark.parametrize("make", [sklearn_predictor, torch_predictor])
def test_a_changed_or_missing_model_file_is_refused_by_name(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    directory = tmp_path / "model"
    make().save(directory)
    files = json.loads((directory / MANIFEST).read_text())["files"]
    victim = directory / files[-1]
    original = victim.read_bytes()
    victim.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(ModelIntegrityError, match=f"{victim.name} has sha256 .* refusing"):
        load_predictor(directory)
    victim.unlink()
    with pytest.raises(ModelIntegrityError, match=f"{victim.name} is missing"):
        load_predictor(directory)


def test_a_manifest_without_hashes_or_of_the_old_format_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "model"
    sklearn_predictor().save(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    (directory / MANIFEST).write_text(json.dumps(manifest | {"sha256": {}}))
    with pytest.raises(ModelIntegrityError, match="records no file hashes"):
        load_predictor(directory)
    (directory / MANIFEST).write_text(json.dumps(manifest | {"format": 1}))
    with pytest.raises(PredictorError, match="format 1, expected 2 .*train it again"):
        load_predictor(directory)
    (directory / MANIFEST).write_text("{not json")
    with pytest.raises(PredictorError, match="is not readable JSON"):
        load_predictor(directory)
