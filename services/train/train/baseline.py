"""A scikit-learn baseline on the calendar features of the feature service's train split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from feature_definitions.calendar import CALENDAR_FEATURES
from feature_definitions.labels import LABEL
from storage.atomic import atomic_output

TRAIN_SPLIT = "train.parquet"


class TrainingDataError(ValueError):
    """The training table cannot be trained on; the message says why."""


@dataclass(frozen=True)
class TrainReport:
    rows: int
    train_roc_auc: float


def fit_baseline(table: pd.DataFrame, seed: int = 0) -> tuple[LogisticRegression, TrainReport]:
    missing = [c for c in (*CALENDAR_FEATURES, LABEL) if c not in table.columns]
    if missing:
        raise TrainingDataError(f"training table is missing column(s) {', '.join(missing)}")
    if table[LABEL].nunique() < 2:
        raise TrainingDataError(f"label {LABEL!r} has a single class; nothing to learn")
    features = table[list(CALENDAR_FEATURES)]
    incomplete = [c for c in (*CALENDAR_FEATURES, LABEL) if table[c].isna().any()]
    if incomplete:
        raise TrainingDataError(f"training table has missing values in {', '.join(incomplete)}")
    model = LogisticRegression(max_iter=1000, random_state=seed).fit(features, table[LABEL])
    auc = float(roc_auc_score(table[LABEL], model.predict_proba(features)[:, 1]))
    return model, TrainReport(rows=len(table), train_roc_auc=auc)


def train_file(features: Path, model_path: Path) -> TrainReport:
    """Fit on `<features>/train.parquet`, the feature service's train split."""
    table_path = features / TRAIN_SPLIT
    if not table_path.is_file():
        raise TrainingDataError(f"no train split: {table_path} does not exist")
    model, report = fit_baseline(pd.read_parquet(table_path))
    with atomic_output(model_path) as tmp:
        joblib.dump(model, tmp)
    return report
