"""A trained model with its preprocessing, as one directory that serving loads and calls.

Every predictor takes the feature frame `feature_definitions.compute_features` returns (extra
columns are ignored) and gives the probability that each flight is delayed; `predict` applies
the decision threshold chosen in training. The directory holds `predictor.json` (kind,
threshold, the features in the order the model reads them, library versions, the sha256 of each
of the kind's files) and the kind's files: `pipeline.joblib` for a scikit-learn pipeline, or
`encoding.json`, `network.json` and `weights.pt` (a state dict) for the PyTorch network
(torch_predictor.py, imported only to load or save one).

Loading verifies every file against its recorded sha256 before reading it, and refuses a
manifest that records no hash of one of the kind's files (KIND_FILES) or one of a file outside
the directory: the joblib pickle is unpickled only if its bytes are the ones training wrote.
torch loads the weights with `weights_only=True`. docs/adr/0012 says why the pipeline is still
a pickle.

A binary HistGradientBoostingClassifier (the baseline) scores through treelite's tree evaluator:
the same trees without scikit-learn's per-call input checks and categorical re-encoding, which
cost about 1.5 ms per call whatever the rows (docs/benchmarks.md). Its scores agree with
scikit-learn's to rounding (the trees' sums run in another order), which loading checks on a
probe; a model treelite cannot import, or whose scores differ, is scored by scikit-learn.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import joblib
import numpy as np
import pandas as pd

from feature_definitions.features import Feature, Kind
from feature_definitions.labels import LABEL
from model_registry.encoding import MISSING_CATEGORY, categorical_strings
from model_registry.errors import PredictorError
from storage.digest import sha256_of

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

MANIFEST = "predictor.json"
# 2: the sha256 of every file is recorded and verified (1 had none).
FORMAT = 2
PredictorKind = Literal["sklearn", "torch"]
# How far treelite's scores may be from scikit-learn's on the probe (seen: 4e-16).
COMPILED_TOLERANCE = 1e-9


class ModelIntegrityError(PredictorError):
    """A model file is missing, or its content is not what was recorded when it was saved."""


# The files each kind reads: their hashes must be among those a manifest records.
KIND_FILES: dict[str, tuple[str, ...]] = {
    "sklearn": ("pipeline.joblib",),
    "torch": ("encoding.json", "network.json", "weights.pt"),
}


def verify_files(
    directory: Path, expected: object, source: str, required: Sequence[str] = ()
) -> None:
    """Refuse `directory` unless `expected` maps names of files inside it to sha256 digests,
    names every file of `required`, and each file it names has that sha256."""
    if not isinstance(expected, Mapping) or not all(
        isinstance(name, str) and isinstance(digest, str) for name, digest in expected.items()
    ):
        raise ModelIntegrityError(
            f"{source} records its file hashes as {json.dumps(expected)[:80]}, not as file names "
            "to sha256 digests: the model cannot be verified"
        )
    if not expected:
        raise ModelIntegrityError(f"{source} records no file hashes: the model cannot be verified")
    unrecorded = [name for name in required if name not in expected]
    if unrecorded:
        raise ModelIntegrityError(
            f"{source} records no sha256 of {', '.join(unrecorded)}, which the model reads: "
            "the model cannot be verified"
        )
    root = directory.resolve()
    for name in expected:
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts or not name.strip("/.") or "\0" in name:
            raise ModelIntegrityError(
                f"{source} records a hash of {name!r}, which is not a file of {directory}"
            )
        if not (directory / relative).resolve().is_relative_to(root):
            raise ModelIntegrityError(
                f"{source} records a hash of {name!r}, which leads out of {directory}"
            )
    for name, digest in sorted(expected.items()):
        path = directory / name
        if not path.is_file():
            raise ModelIntegrityError(f"{path} is missing ({source} records it)")
        actual = sha256_of(path)
        if actual != digest:
            raise ModelIntegrityError(
                f"{path} has sha256 {actual}, but {source} records {digest}: the file changed "
                "after the model was saved; refusing to load it"
            )


def model_frame(frame: pd.DataFrame, features: Sequence[Feature]) -> pd.DataFrame:
    """The model's features from `frame`, in order, categorical values as strings; raises
    PredictorError naming any missing feature or non-finite numeric value."""
    columns = model_columns(frame, features)
    return pd.DataFrame(
        {
            name: pd.Series(values, index=frame.index, dtype=object)
            if isinstance(values, list)
            else values
            for name, values in columns.items()
        },
        index=frame.index,
    )


def model_columns(
    frame: pd.DataFrame, features: Sequence[Feature]
) -> dict[str, np.ndarray | list[str]]:
    """model_frame's columns, without the frame: categorical ones as lists of str, numeric ones
    as float64 arrays."""
    missing = [f.name for f in features if f.name not in frame.columns]
    if missing:
        raise PredictorError(f"feature frame lacks column(s) {', '.join(missing)}")
    columns: dict[str, np.ndarray | list[str]] = {}
    problems = []
    numeric = [f.name for f in features if f.kind != "categorical"]
    # Plain NumPy numbers (what compute_features gives) convert in one call, not one per column.
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    together = not frame.columns.has_duplicates and all(
        isinstance(dtypes[name], np.dtype) and dtypes[name].kind in "biuf" for name in numeric
    )
    block = frame[numeric].to_numpy(dtype="float64") if together and numeric else None
    position = {name: i for i, name in enumerate(numeric)}
    for feature in features:
        if feature.kind == "categorical":
            columns[feature.name] = _strings(frame[feature.name])
            continue
        if block is not None:
            values = block[:, position[feature.name]]
            bad = int((~np.isfinite(values)).sum())
            if bad:
                problems.append(f"{feature.name} ({bad} rows)")
            columns[feature.name] = values
            continue
        try:
            values = frame[feature.name].to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            raise PredictorError(f"feature {feature.name} is not numeric") from None
        bad = int((~np.isfinite(values)).sum())
        if bad:
            problems.append(f"{feature.name} ({bad} rows)")
        columns[feature.name] = values
    if problems:
        raise PredictorError(f"features with missing or infinite values: {', '.join(problems)}")
    return columns


def _strings(values: pd.Series) -> list[str]:
    """categorical_strings(values) as a list; a string column (what compute_features gives)
    without the three pandas conversions."""
    if isinstance(values.dtype, pd.StringDtype):
        return [MISSING_CATEGORY if v is pd.NA else str(v) for v in values.tolist()]
    strings: list[str] = categorical_strings(values).tolist()
    return strings


class Predictor(ABC):
    kind: PredictorKind

    def __init__(self, features: Sequence[Feature], threshold: float) -> None:
        self.features = tuple(features)
        self.threshold = threshold

    @abstractmethod
    def _probabilities(self, frame: pd.DataFrame) -> np.ndarray: ...

    @abstractmethod
    def _write(self, directory: Path) -> list[str]:
        """Write the kind's files into `directory`; return their names."""

    @property
    def engine(self) -> str:
        """What computes the scores (the kind, unless a subclass says more)."""
        return self.kind

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """P(delayed) per row of `frame`, float64."""
        return self._probabilities(model_frame(frame, self.features))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """1 (delayed) where the probability reaches the threshold, else 0; int8."""
        return (self.predict_proba(frame) >= self.threshold).astype("int8")

    def save(self, directory: Path) -> None:
        """Write the predictor into `directory` (created; expected empty)."""
        directory.mkdir(parents=True, exist_ok=True)
        files = self._write(directory)
        manifest = {
            "format": FORMAT,
            "kind": self.kind,
            "label": LABEL,
            "threshold": self.threshold,
            "features": [{"name": f.name, "kind": f.kind} for f in self.features],
            "files": sorted(files),
            "sha256": {name: sha256_of(directory / name) for name in sorted(files)},
            "versions": {name: version(name) for name in ("scikit-learn", "torch", "pandas")},
        }
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


class SklearnPredictor(Predictor):
    """A fitted scikit-learn pipeline over the model frame (`predict_proba` column 1 is
    `delayed`)."""

    kind: PredictorKind = "sklearn"
    (FILE,) = KIND_FILES[kind]

    def __init__(self, pipeline: Any, features: Sequence[Feature], threshold: float) -> None:
        super().__init__(features, threshold)
        self.pipeline = pipeline
        self._direct = _DirectInput.of(pipeline, [f.name for f in self.features])
        self._trees = None if self._direct is None else CompiledTrees.of(self._direct)

    @property
    def engine(self) -> str:
        """What scores: "treelite", "scikit-learn (direct input)" or "scikit-learn"."""
        if self._trees is not None:
            return "treelite"
        return "scikit-learn" if self._direct is None else "scikit-learn (direct input)"

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self._direct is None:
            return super().predict_proba(frame)
        # The encoded matrix, built without the model frame and the ColumnTransformer (a few
        # milliseconds per call, whatever the rows): the same values reach the same model.
        matrix = self._direct.matrix(model_columns(frame, self.features))
        if self._trees is not None:
            return self._trees(matrix)
        return np.asarray(self._direct.model.predict_proba(matrix)[:, 1], dtype="float64")

    def _probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(frame)[:, 1], dtype="float64")

    def _write(self, directory: Path) -> list[str]:
        joblib.dump(self.pipeline, directory / self.FILE)
        return [self.FILE]

    @classmethod
    def _read(cls, directory: Path, features: Sequence[Feature], threshold: float) -> Predictor:
        # Verified by load_predictor before this runs: these are the bytes training wrote.
        return cls(joblib.load(directory / cls.FILE), features, threshold)


class _DirectInput:
    """For a pipeline (a ColumnTransformer of OrdinalEncoders and passed-through columns, then a
    model fitted on its NumPy output), the matrix its first step gives, from the model frame,
    with plain lookups in the encoders' fitted categories. Any other pipeline is scored through
    its own steps (`of` returns None)."""

    def __init__(self, model: Any, parts: list[tuple[list[str], list[dict[str, float]] | None]]):
        self.model = model
        # Per transformer, in output order: its columns, and for an encoder their codes.
        self._parts = parts
        self._unknown: list[float] = []

    @classmethod
    def of(cls, pipeline: Any, columns: list[str]) -> _DirectInput | None:
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

        if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
            return None
        encode, model = pipeline.steps[0][1], pipeline.steps[1][1]
        if (
            not isinstance(encode, ColumnTransformer)
            or list(getattr(encode, "feature_names_in_", [])) != columns
            or getattr(encode, "sparse_output_", True)
            or hasattr(model, "feature_names_in_")
        ):
            return None
        parts: list[tuple[list[str], list[dict[str, float]] | None]] = []
        unknown: list[float] = []
        for _, transformer, selected in encode.transformers_:
            names = [columns[c] if isinstance(c, int | np.integer) else str(c) for c in selected]
            if isinstance(transformer, str) and transformer == "drop":
                continue
            if (isinstance(transformer, str) and transformer == "passthrough") or (
                # What a fitted ColumnTransformer holds for remainder="passthrough".
                isinstance(transformer, FunctionTransformer) and transformer.func is None
            ):
                parts.append((names, None))
            elif (
                isinstance(transformer, OrdinalEncoder)
                and transformer.handle_unknown == "use_encoded_value"
                and transformer.max_categories is None
                and transformer.min_frequency is None
                and np.dtype(transformer.dtype) == np.float64
            ):
                codes = [
                    {str(value): float(i) for i, value in enumerate(categories)}
                    for categories in transformer.categories_
                ]
                parts.append((names, codes))
                unknown.append(float(transformer.unknown_value))
            else:
                return None
        direct = cls(model, parts)
        direct._unknown = unknown
        return direct

    def _walk(self) -> Iterator[tuple[list[str], list[dict[str, float]] | None, float]]:
        """Each transformer's columns, its codes (None when passed through) and its unknown
        code (NaN when passed through), in output order."""
        encoders = iter(self._unknown)
        for names, codes in self._parts:
            yield names, codes, (np.nan if codes is None else next(encoders))

    @staticmethod
    def _stack(blocks: list[np.ndarray], rows: int) -> np.ndarray:
        return np.hstack(blocks) if blocks else np.zeros((rows, 0), dtype="float64")

    def matrix(self, columns: Mapping[str, np.ndarray | list[str]]) -> np.ndarray:
        """model_columns' `columns` as the first step's float64 output."""
        rows = len(next(iter(columns.values()))) if columns else 0
        blocks = []
        for names, codes, unknown in self._walk():
            block = np.empty((rows, len(names)), dtype="float64")
            if codes is None:
                for j, name in enumerate(names):
                    block[:, j] = columns[name]
            else:
                for j, (name, code) in enumerate(zip(names, codes, strict=True)):
                    block[:, j] = [code.get(str(value), unknown) for value in columns[name]]
            blocks.append(block)
        return self._stack(blocks, rows)

    def probe(self, rows: int = 512, seed: int = 0) -> np.ndarray:
        """Rows the first step could give: each encoded column takes its known codes and the
        unknown one; each passed-through column numbers of both signs over eight orders of
        magnitude, a few of them missing."""
        rng = np.random.default_rng(seed)
        blocks = []
        for names, codes, unknown in self._walk():
            shape = (rows, len(names))
            if codes is None:
                block = rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 5, shape)
                block[rng.random(shape) < 0.05] = np.nan
            else:
                block = np.column_stack(
                    [rng.choice([*code.values(), unknown], rows) for code in codes]
                ).astype("float64")
            blocks.append(block)
        return self._stack(blocks, rows)


class CompiledTrees:
    """A fitted binary HistGradientBoostingClassifier as treelite's tree evaluator (public API:
    `treelite.sklearn.import_model`, `treelite.gtil.predict`); called with the model's input
    matrix, it gives P(class 1)."""

    def __init__(self, model: Any) -> None:
        import treelite

        self._model = treelite.sklearn.import_model(model)
        self._predict = treelite.gtil.predict

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        if not len(matrix):
            return np.zeros(0, dtype="float64")
        # One thread: the server's workers and batches are the parallelism.
        scores = self._predict(self._model, matrix, nthread=1)
        return np.asarray(scores, dtype="float64").reshape(len(matrix))

    @classmethod
    def of(cls, direct: _DirectInput) -> CompiledTrees | None:
        """The compiled trees of `direct`'s model, when it is a binary HistGradientBoosting
        classifier that treelite imports and that scores its probe as scikit-learn does;
        otherwise None, logged."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = direct.model
        if not isinstance(model, HistGradientBoostingClassifier) or len(model.classes_) != 2:
            return None
        probe = direct.probe()
        try:
            trees = cls(model)
            actual = trees(probe)
        except Exception as error:  # treelite's errors for a model it cannot read
            log.warning("scoring with scikit-learn: treelite cannot import the model: %r", error)
            return None
        expected = model.predict_proba(probe)[:, 1]
        worst = float(np.max(np.abs(actual - expected)))
        if not worst <= COMPILED_TOLERANCE:
            log.warning("scoring with scikit-learn: treelite's scores differ by %g", worst)
            return None
        return trees


def read_manifest(directory: Path) -> dict[str, Any]:
    """`directory`'s predictor.json, unverified: what it says, not that the files match."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise PredictorError(f"{directory} is not a predictor: no {MANIFEST}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as error:
        raise PredictorError(f"{manifest_path} is not readable JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise PredictorError(f"{manifest_path} must be a JSON object")
    return manifest


def load_predictor(directory: Path, device: torch.device | None = None) -> Predictor:
    """The predictor saved in `directory` (a registered model's path, or a train output), once
    its files match the hashes its manifest records. A PyTorch model scores on `device`, by
    default on a GPU when torch sees one (torch_predictor.scoring_device), else the CPU."""
    manifest_path = directory / MANIFEST
    manifest = read_manifest(directory)
    if manifest.get("format") != FORMAT:
        raise PredictorError(
            f"{manifest_path}: format {manifest.get('format')!r}, expected {FORMAT} (a model "
            "saved before verified files: train it again)"
        )
    kind = manifest.get("kind")
    if kind not in KIND_FILES:
        raise PredictorError(f"{manifest_path}: unknown kind {kind!r}")
    verify_files(directory, manifest.get("sha256", {}), str(manifest_path), KIND_FILES[kind])
    try:
        features = [Feature(f["name"], _kind(f["kind"])) for f in manifest["features"]]
        threshold = manifest["threshold"]
    except (KeyError, TypeError, ValueError) as error:
        raise PredictorError(f"{manifest_path}: malformed ({error!r})") from None
    # NaN fails the comparison too: a NaN threshold would answer every flight "not delayed".
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise PredictorError(f"{manifest_path}: threshold {threshold!r} is not a number")
    if not 0 <= threshold <= 1:
        raise PredictorError(f"{manifest_path}: threshold {threshold!r} is not in [0, 1]")
    if kind == SklearnPredictor.kind:
        return SklearnPredictor._read(directory, features, threshold)
    # Imported for a torch model only: torch takes about a second and 190 MB of memory to
    # import, in every process that loads a model, and a scikit-learn model never uses it.
    from model_registry.torch_predictor import TorchPredictor

    return TorchPredictor._read(directory, features, threshold, device)


def _kind(value: str) -> Kind:
    if value == "numeric":
        return "numeric"
    if value == "categorical":
        return "categorical"
    raise PredictorError(f"unknown feature kind {value!r}")
