"""Scores every trained model on the test split and writes what DVC shows: `metrics.json` (per
model: ROC-AUC, PR-AUC, log loss, Brier score, the confusion matrix at the model's threshold)
and, per model, `plots/<model>/roc.json`, `pr.json`, `calibration.json` and `confusion.csv`
(one row per test flight: actual, predicted). Scoring writes nothing: the caller writes the
evaluation (write_evaluation) once the run can no longer fail on its input, so that a failed run
leaves the previous output as it was. `plots/` is replaced whole and `metrics.json`
atomically; other files in the output directory (DVC's .gitignore) stay.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model_registry.predictor import Predictor, load_predictor
from storage.atomic import atomic_write_text, staged_directory
from storage.inputs import directory_problem
from train.data import TrainingDataError, departure_dates, read_split
from train.metrics import calibration_points, pr_points, roc_points, score
from train.params import MODELS, EvaluateParams

METRICS_FILE = "metrics.json"
PLOTS_DIR = "plots"


@dataclass(frozen=True)
class Evaluation:
    predictors: dict[str, Predictor]
    metrics: dict[str, dict[str, Any]]
    test: tuple[pd.DataFrame, np.ndarray]
    # Per model, the text of each file under plots/<model>/.
    plots: dict[str, dict[str, str]] = field(default_factory=dict)
    # The New York date of each test flight's departure (what the splits are cut by), or None
    # when the test split does not record it: the gate compares a promoted model only on the
    # test flights after its validation end.
    test_dates: np.ndarray | None = None


def load_models(models_dir: Path) -> dict[str, Predictor]:
    problem = directory_problem(models_dir)
    if problem:
        raise TrainingDataError(f"models directory {models_dir} {problem}")
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
    test_file: Path, predictors: dict[str, Predictor], params: EvaluateParams
) -> Evaluation:
    test = read_split("test", test_file)
    label = test[1]
    if params.calibration_bins > len(label):
        # Quantile bins past one per flight are empty, and each costs memory (10**9 of them
        # would take 8 GiB before anything is scored).
        raise TrainingDataError(
            f"evaluate.calibration_bins {params.calibration_bins} is more than the test split's "
            f"{len(label)} flights ({test_file}): give at most one bin per flight"
        )
    metrics, plots = {}, {}
    for name, predictor in predictors.items():
        probability = predictor.predict_proba(test[0])
        metrics[name] = score(label, probability, predictor.threshold)
        predicted = (probability >= predictor.threshold).astype("int8")
        plots[name] = {
            "roc.json": _json(roc_points(label, probability)),
            "pr.json": _json(pr_points(label, probability)),
            "calibration.json": _json(
                calibration_points(label, probability, params.calibration_bins)
            ),
            "confusion.csv": _confusion_csv(label, predicted),
        }
    return Evaluation(predictors, metrics, test, plots, departure_dates(test_file))


def write_evaluation(evaluation: Evaluation, output: Path) -> None:
    with staged_directory(output / PLOTS_DIR) as plots_root:
        for name, files in evaluation.plots.items():
            (plots_root / name).mkdir()
            for file_name, text in files.items():
                (plots_root / name / file_name).write_text(text)
    atomic_write_text(output / METRICS_FILE, _json(evaluation.metrics))
