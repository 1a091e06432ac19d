"""A scikit-learn baseline on the calendar features."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from feature_definitions.calendar import CALENDAR_FEATURES
from storage.atomic import atomic_output

LABEL = "delayed"


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
    model = LogisticRegression(max_iter=1000, random_state=seed).fit(features, table[LABEL])
    auc = float(roc_auc_score(table[LABEL], model.predict_proba(features)[:, 1]))
    return model, TrainReport(rows=len(table), train_roc_auc=auc)


def train_file(table_path: Path, model_path: Path) -> TrainReport:
    model, report = fit_baseline(pd.read_parquet(table_path))
    with atomic_output(model_path) as tmp:
        joblib.dump(model, tmp)
    return report
