"""The feature table's splits, read and checked before anything is trained or scored.

Every problem stops the run with a TrainingDataError that names the split, the file and what is
wrong: a missing or unreadable file, no rows, a missing column, a NaN or infinite feature value, a
categorical feature that is not strings, a label that is not 0/1, or a label with a single
class (nothing to learn, or no ROC-AUC).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from feature_definitions.calendar import local_time
from feature_definitions.features import FEATURES, Feature
from feature_definitions.labels import LABEL
from storage.inputs import directory_problem, file_problem
from train.errors import TrainError

SPLITS: tuple[str, ...] = ("train", "validation", "test")
# The scheduled departure's hour, by which the feature service split the table (by its New York
# date): not a feature, but the gate needs it to tell which test flights a model saw.
DEPARTURE_COLUMN = "time_hour"


class TrainingDataError(TrainError):
    """The feature table cannot be trained on or scored; the message says why."""


def split_files(features: Path) -> dict[str, Path]:
    """Where the feature service writes each split: `<features>/<split>.parquet`."""
    problem = directory_problem(features)
    if problem:
        raise TrainingDataError(f"feature table {features} {problem}")
    return {split: features / f"{split}.parquet" for split in SPLITS}


def read_split(
    split: str, path: Path, features: tuple[Feature, ...] = FEATURES
) -> tuple[pd.DataFrame, np.ndarray]:
    """The split's feature columns and its label (int8), checked."""
    where = f"{split} split {path}"
    problem = file_problem(path)
    if problem:
        raise TrainingDataError(f"no {split} split: {path} {problem}")
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise TrainingDataError(f"{where} is not a readable Parquet file: {error}") from None
    if table.empty:
        raise TrainingDataError(f"{where} has no rows")
    missing = [c for c in (*(f.name for f in features), LABEL) if c not in table.columns]
    if missing:
        raise TrainingDataError(f"{where} lacks column(s) {', '.join(missing)}")
    problems = []
    for feature in features:
        values = table[feature.name]
        if feature.kind == "categorical":
            found = _not_strings(values)
            if found:
                raise TrainingDataError(
                    f"{where}: categorical feature {feature.name} is not strings ({found}): "
                    "serving sends its values as strings, which a vocabulary of other values "
                    "would not know"
                )
            bad = int(values.isna().sum())
        elif not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
            raise TrainingDataError(
                f"{where}: feature {feature.name} is not numeric ({values.dtype})"
            )
        else:
            bad = int((~np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))).sum())
        if bad:
            problems.append(f"{feature.name} ({bad} rows)")
    if problems:
        raise TrainingDataError(f"{where}: NaN or infinite values in {', '.join(problems)}")
    return table[[f.name for f in features]], _label(table[LABEL], split, where)


def _not_strings(values: pd.Series) -> str | None:
    """None when a categorical feature holds strings (str objects, pandas' string dtype, or
    categories of those), missing values aside; else what it holds, as "dtype, kind values"."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        kind = pd.api.types.infer_dtype(dtype.categories, skipna=True)
    elif isinstance(dtype, pd.StringDtype) or dtype == object:
        kind = pd.api.types.infer_dtype(values, skipna=True)
    else:
        return str(dtype)
    if kind in ("string", "empty"):
        return None
    return f"{dtype} of {kind} values"


def _is_0_or_1(value: object) -> bool:
    """A label value training reads as a class: a number (or bool) equal to 0 or 1, not the
    text "0" or a 0.5 an int cast would truncate."""
    return not isinstance(value, str | bytes) and bool(value == 0 or value == 1)


def _label(values: pd.Series, split: str, where: str) -> np.ndarray:
    if values.isna().any():
        raise TrainingDataError(
            f"{where}: label {LABEL} is missing in {int(values.isna().sum())} rows"
        )
    offending = [v for v in pd.unique(values) if not _is_0_or_1(v)]
    if offending:
        shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in offending[:5])
        more = f" and {len(offending) - 5} other values" if len(offending) > 5 else ""
        rows = int((~values.map(_is_0_or_1).astype(bool)).sum())
        raise TrainingDataError(
            f"{where}: label {LABEL} must be 0 or 1, found {shown}{more} ({rows} rows)"
        )
    classes = sorted(pd.unique(values.astype("int64")).tolist())
    if len(classes) < 2:
        need = "nothing to learn" if split == "train" else "ROC-AUC and PR-AUC need both"
        raise TrainingDataError(f"{where}: label {LABEL} has a single class ({classes[0]}); {need}")
    return values.to_numpy(dtype="int8")


def departure_dates(path: Path) -> np.ndarray | None:
    """The New York date of each flight's scheduled departure in a split `read_split` read
    (datetime.date objects, in the split's row order), as the feature service assigned the
    splits by it; None when the file has no such column or a value is missing."""
    try:
        if DEPARTURE_COLUMN not in pq.read_schema(path).names:
            return None
        hours = pd.read_parquet(path, columns=[DEPARTURE_COLUMN])[DEPARTURE_COLUMN]
    except (OSError, ValueError, pa.ArrowException) as error:
        raise TrainingDataError(f"{path} is not a readable Parquet file: {error}") from None
    if hours.isna().any():
        return None
    try:
        dates: np.ndarray = local_time(hours).dt.date.to_numpy()
    except (TypeError, ValueError):  # not times: no dates to tell the rows apart by
        return None
    return dates


def read_splits(
    files: Mapping[str, Path], features: tuple[Feature, ...] = FEATURES
) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """Every split in `files`, checked; the first problem found is raised."""
    return {split: read_split(split, path, features) for split, path in files.items()}
