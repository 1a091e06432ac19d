import hashlib
import json
import logging
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from feature_definitions.features import Feature
from model_registry import predictor as predictor_module
from model_registry.errors import PredictorError
from model_registry.predictor import (
    MANIFEST,
    ModelIntegrityError,
    Predictor,
    SklearnPredictor,
    load_predictor,
    model_frame,
    verify_files,
)
from model_registry.testing import (
    FEATURES,
    frame,
    in_fresh_process,
    sklearn_predictor,
    torch_predictor,
)


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


# A fresh process loads the model as serving does: the store's module, then the predictor.
LOAD_AND_LIST_TORCH = """
import sys
from pathlib import Path
import model_registry.store
from model_registry.predictor import load_predictor
load_predictor(Path(sys.argv[1]))
print("torch" in sys.modules)
"""


@pytest.mark.parametrize(
    ("make", "imports_torch"), [(sklearn_predictor, False), (torch_predictor, True)]
)
def test_only_a_torch_model_imports_torch_to_load(
    make: Callable[[], Predictor], imports_torch: bool, tmp_path: Path
) -> None:
    # torch costs every serving process about a second and 190 MB of memory to import, and the
    # scikit-learn baseline (the usual champion) never uses it.
    make().save(tmp_path / "model")
    loaded = in_fresh_process(LOAD_AND_LIST_TORCH, tmp_path / "bentoml", str(tmp_path / "model"))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == [str(imports_torch)]


BUILD_BOTH_AND_LIST_TORCH = """
import sys
from model_registry import testing
testing.sklearn_predictor()
print("torch" in sys.modules)
testing.torch_predictor()
print("torch" in sys.modules)
"""


def test_the_test_helpers_import_torch_only_for_a_torch_model(tmp_path: Path) -> None:
    # Serve's test processes build only scikit-learn models: they need not pay for torch either.
    built = in_fresh_process(BUILD_BOTH_AND_LIST_TORCH, tmp_path / "bentoml")
    assert built.returncode == 0, built.stderr
    assert built.stdout.split() == ["False", "True"]


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


class OpensAFile:
    """Unpickled, creates the file it was made with: proof that a pickle ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def test_a_swapped_pickle_whose_manifest_hashes_other_files_is_refused_unread(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "model"
    sklearn_predictor().save(directory)
    ran = tmp_path / "the pickle ran"
    (directory / "pipeline.joblib").write_bytes(pickle.dumps(OpensAFile(ran)))
    (directory / "decoy").write_bytes(b"x")
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["sha256"] = {"decoy": hashlib.sha256(b"x").hexdigest()}
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="records no sha256 of pipeline.joblib"):
        load_predictor(directory)
    assert not ran.exists()


def test_a_torch_manifest_must_hash_each_of_its_files(tmp_path: Path) -> None:
    directory = tmp_path / "model"
    torch_predictor().save(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    del manifest["sha256"]["encoding.json"], manifest["sha256"]["weights.pt"]
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="no sha256 of encoding.json, weights.pt, which"):
        load_predictor(directory)


@pytest.mark.parametrize("name", ["../outside", "{outside}", "sub/../../outside", ""])
def test_a_hash_of_a_file_outside_the_model_is_refused(tmp_path: Path, name: str) -> None:
    directory = tmp_path / "model"
    sklearn_predictor().save(directory)
    outside = tmp_path / "outside"
    outside.write_bytes(b"x")
    name = name.format(outside=outside)
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["sha256"][name] = hashlib.sha256(b"x").hexdigest()
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match=f"records a hash of {name!r}, which is not a"):
        load_predictor(directory)


def test_a_hash_of_a_link_out_of_the_model_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "model"
    sklearn_predictor().save(directory)
    (tmp_path / "outside").write_bytes(b"x")
    (directory / "link").symlink_to(tmp_path / "outside")
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["sha256"]["link"] = hashlib.sha256(b"x").hexdigest()
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="records a hash of 'link', which leads out of"):
        load_predictor(directory)


def test_a_manifest_without_hashes_or_of_the_old_format_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "model"
    sklearn_predictor().save(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    (directory / MANIFEST).write_text(json.dumps(manifest | {"sha256": {}}))
    with pytest.raises(ModelIntegrityError, match="records no file hashes"):
        load_predictor(directory)
    # Before, these raised AttributeError ('list' object has no attribute 'items'), naming no file.
    for hashes in (["x"], "abc", None, {"predictor.json": 1}):
        (directory / MANIFEST).write_text(json.dumps(manifest | {"sha256": hashes}))
        with pytest.raises(ModelIntegrityError, match="records its file hashes as .*, not as file"):
            load_predictor(directory)
    (directory / MANIFEST).write_text(json.dumps(manifest | {"format": 1}))
    with pytest.raises(PredictorError, match="format 1, expected 2 .*train it again"):
        load_predictor(directory)
    (directory / MANIFEST).write_text("{not json")
    with pytest.raises(PredictorError, match="is not readable JSON"):
        load_predictor(directory)


@pytest.mark.parametrize(
    ("threshold", "message"),
    [
        (float("nan"), "threshold nan is not in \\[0, 1\\]"),
        (1.5, "threshold 1.5 is not in \\[0, 1\\]"),
        (-0.1, "threshold -0.1 is not in \\[0, 1\\]"),
        (True, "threshold True is not a number"),
        ("0.5", "threshold '0.5' is not a number"),
    ],
)
def test_a_threshold_that_is_not_a_probability_is_refused(
    threshold: object, message: str, tmp_path: Path
) -> None:
    directory = tmp_path / "model"
    sklearn_predictor().save(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    (directory / MANIFEST).write_text(json.dumps(manifest | {"threshold": threshold}))
    with pytest.raises(PredictorError, match=message):
        load_predictor(directory)


def _ordinal_boosting(rows: int = 400, trees: int = 20) -> SklearnPredictor:
    """The baseline's shape (services/train): ordinal codes for the categories, the numbers
    passed through, a gradient boosting model that reads the codes as categories."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "carrier": rng.choice(["UA", "AA", "B6"], rows).astype(object),
            "origin": rng.choice(["EWR", "JFK"], rows).astype(object),
            "dep_hour": rng.integers(0, 24, rows).astype("float64"),
            "rate": rng.random(rows),
        }
    )
    delayed = ((table["dep_hour"] > 15) ^ (table["carrier"] == "B6")).astype(int)
    encode = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
                ["carrier", "origin"],
            )
        ],
        remainder="passthrough",
    )
    model = HistGradientBoostingClassifier(categorical_features=[0, 1], max_iter=trees)
    pipeline = Pipeline([("encode", encode), ("model", model)]).fit(table, delayed)
    features = [
        Feature("carrier", "categorical"),
        Feature("origin", "categorical"),
        Feature("dep_hour", "numeric"),
        Feature("rate", "numeric"),
    ]
    return SklearnPredictor(pipeline, features, threshold=0.5)


def test_the_direct_encoding_scores_as_the_pipeline() -> None:
    predictor = _ordinal_boosting()
    assert predictor.engine == "treelite"  # the fast path is the one under test
    # Unseen and missing categories, integer and float columns, an extra column.
    request = pd.DataFrame(
        {
            "rate": [0.1, 0.9, 0.5, 0.0, 1.0],
            "carrier": pd.array(["UA", "ZZ", None, "B6", "AA"], dtype="string"),
            "origin": pd.array(["EWR", "JFK", "LGA", "JFK", None], dtype="string"),
            "dep_hour": np.array([0, 23, 16, 15, 8], dtype="int8"),
            "extra": ["x"] * 5,
        }
    )
    expected = predictor.pipeline.predict_proba(model_frame(request, predictor.features))[:, 1]
    # treelite sums the trees in another order than scikit-learn: equal to rounding.
    assert np.allclose(predictor.predict_proba(request), expected, rtol=0, atol=1e-12)
    # Object columns and nullable numbers go through the column-by-column conversion.
    loose = request.astype({"carrier": object, "dep_hour": "Int64"})
    assert np.array_equal(predictor.predict_proba(loose), predictor.predict_proba(request))
    with pytest.raises(PredictorError, match=r"rate \(1 rows\)"):
        predictor.predict_proba(request.assign(rate=[0.1, np.inf, 0.5, 0.0, 1.0]))


BOOSTING = _ordinal_boosting(rows=2000, trees=60)
CARRIERS = st.sampled_from(["UA", "AA", "B6", "ZZ", None])
ORIGINS = st.sampled_from(["EWR", "JFK", "LGA", None])
NUMBERS = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(CARRIERS, ORIGINS, NUMBERS, NUMBERS), min_size=1, max_size=40),
)
def test_compiled_trees_score_any_request_as_scikit_learn(
    rows: list[tuple[str | None, str | None, float, float]],
) -> None:
    carrier, origin, dep_hour, rate = zip(*rows, strict=True)
    request = pd.DataFrame(
        {
            "carrier": pd.array(carrier, dtype="string"),
            "origin": pd.array(origin, dtype="string"),
            "dep_hour": np.array(dep_hour),
            "rate": np.array(rate),
        }
    )
    model_input = model_frame(request, BOOSTING.features)
    expected = BOOSTING.pipeline.predict_proba(model_input)[:, 1]
    actual = BOOSTING.predict_proba(request)
    assert BOOSTING.engine == "treelite"
    assert np.allclose(actual, expected, rtol=0, atol=1e-12)
    # The decision can differ only for a score within rounding of the threshold.
    threshold = BOOSTING.threshold
    near = np.abs(expected - threshold) <= 1e-12
    assert np.array_equal((actual >= threshold)[~near], (expected >= threshold)[~near])


def test_a_model_whose_compiled_scores_differ_is_scored_by_scikit_learn(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # No difference is small enough: the probe's check must reject the compiled trees.
    monkeypatch.setattr(predictor_module, "COMPILED_TOLERANCE", -1.0)
    with caplog.at_level(logging.WARNING, logger=predictor_module.__name__):
        predictor = _ordinal_boosting()
    assert predictor.engine == "scikit-learn (direct input)"
    assert "treelite's scores differ by" in caplog.text
    request = pd.DataFrame(
        {"carrier": ["UA", "ZZ"], "origin": ["EWR", "LGA"], "dep_hour": [3, 22], "rate": [0.2, 0.7]}
    )
    expected = predictor.pipeline.predict_proba(model_frame(request, predictor.features))[:, 1]
    assert np.array_equal(predictor.predict_proba(request), expected)


def test_only_binary_boosting_is_compiled() -> None:
    assert sklearn_predictor().engine == "scikit-learn"
    assert torch_predictor().engine == "torch"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


RECORDED_NAMES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["a", "sub", "sub/b", "./a", "/a", "..", "sub/../a", ".", "a\x00"]),
)


@settings(max_examples=400)
@given(st.dictionaries(RECORDED_NAMES, st.sampled_from([sha256("a"), sha256("b"), ""]), max_size=3))
def test_a_file_table_verifies_only_named_files_with_their_digests_else_is_refused(
    recorded: dict[str, str],
) -> None:
    """Any table a registration record may hold (model.yaml is not itself hashed) is either the
    files' own or a ModelIntegrityError; a name with a NUL byte escaped as pathlib's
    ValueError, which the store's readers do not catch."""
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / "a").write_text("a")
        (directory / "sub").mkdir()
        (directory / "sub" / "b").write_text("b")
        files = {"a": sha256("a"), "sub/b": sha256("b")}
        try:
            verify_files(directory, recorded, "the record")
        except ModelIntegrityError:
            return
        assert recorded and all(files.get(str(Path(n))) == d for n, d in recorded.items())
