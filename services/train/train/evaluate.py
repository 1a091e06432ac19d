"""Scores every trained model on the test split and writes what DVC shows: `metrics.json` (per
model: ROC-AUC, PR-AUC, log loss, Brier score, the confusion matrix at the model's threshold)
and, per model, `plots/<model>/roc.json`, `pr.json`, `calibration.json` and `confusion.csv`
(one row per test flight: actual, predicted). `plots/` is replaced whole and `metrics.json`
atomically; other files in the output directory (DVC's .gitignore) stay.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model_registry.predictor import Predictor, load_predictor
from storage.atomic import atomic_write_text, staged_directory
from train.data import TrainingDataError, read_split
from train.fit import MODELS
from train.metrics import calibration_points, pr_points, roc_points, score
from train.params import EvaluateParams

METRICS_FILE = "metrics.json"
PLOTS_DIR = "plots"


@dataclass(frozen=True)
class Evaluation:
    predictors: dict[str, Predictor]
    metrics: dict[str, dict[str, Any]]
    test: tuple[pd.DataFrame, np.ndarray]


def load_models(models_dir: Path) -> dict[str, Predictor]:
    found = {name: models_dir / name for name in MODELS if (models_dir / name).is_dir()}
    if not found:
        raise TrainingDataError(f"no trained model in {models_dir} (expected {', '.join(MODELS)})")
    return {name: load_predictor(path) for name, path in found.items()}


def _confusion_csv(label: np.ndarray, predicted: np.ndarray) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["actual", "predicted"])
    writer.writerows(zip(label.tolist(), predicted.tolist(), strict=True))
    return out.getvalue()


def _json(value: Any) -> str:
    return json.dumps(value, indent=2) + "\n"


def evaluate_models(
    test_file: Path, models_dir: Path, output: Path, params: EvaluateParams
) -> Evaluation:
    predictors = load_models(models_dir)
    test = read_split("test", test_file)
    label = test[1]
    metrics = {}
    output.mkdir(parents=True, exist_ok=True)
    with staged_directory(output / PLOTS_DIR) as plots_root:
        for name, predictor in predictors.items():
            probability = predictor.predict_proba(test[0])
            metrics[name] = score(label, probability, predictor.threshold)
            plots = plots_root / name
            plots.mkdir()
            (plots / "roc.json").write_text(_json(roc_points(label, probability)))
            (plots / "pr.json").write_text(_json(pr_points(label, probability)))
            calibration = calibration_points(label, probability, params.calibration_bins)
            (plots / "calibration.json").write_text(_json(calibration))
            predicted = (probability >= predictor.threshold).astype("int8")
            (plots / "confusion.csv").write_text(_confusion_csv(label, predicted))
    atomic_write_text(output / METRICS_FILE, _json(metrics))
    return Evaluation(predictors, metrics, test)
