"""Scores on a held-out split: the metrics, the decision threshold, and the curves DVC plots.

PR-AUC is average precision. The confusion matrix is taken at the model's threshold, which
training chose on the validation split (the one maximising F1 unless params fix it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

# Points kept per curve: enough to draw it, few enough to keep the plot files small.
CURVE_POINTS = 200
HIGHER_IS_BETTER = {"roc_auc": True, "pr_auc": True, "log_loss": False, "brier": False}


def max_f1_threshold(label: np.ndarray, probability: np.ndarray) -> float:
    """The probability threshold with the highest F1 (ties: the lowest threshold)."""
    precision, recall, thresholds = precision_recall_curve(label, probability)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    # The last precision/recall pair has no threshold.
    return float(thresholds[int(np.argmax(f1[:-1]))])


def score(label: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, Any]:
    predicted = (probability >= threshold).astype("int8")
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(label, predicted, labels=[0, 1]).ravel())
    return {
        "roc_auc": float(roc_auc_score(label, probability)),
        "pr_auc": float(average_precision_score(label, probability)),
        "log_loss": float(log_loss(label, probability, labels=[0, 1])),
        "brier": float(brier_score_loss(label, probability)),
        "threshold": threshold,
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "rows": len(label),
        "delayed_share": float(np.mean(label)),
    }


def _thin(length: int) -> np.ndarray:
    """Indices of at most CURVE_POINTS points spread over a curve, both ends kept."""
    return np.unique(np.linspace(0, length - 1, min(length, CURVE_POINTS)).round().astype(int))


def _round(value: float) -> float:
    return round(float(value), 6)


def roc_points(label: np.ndarray, probability: np.ndarray) -> list[dict[str, float]]:
    fpr, tpr, _ = roc_curve(label, probability)
    return [{"fpr": _round(fpr[i]), "tpr": _round(tpr[i])} for i in _thin(len(fpr))]


def pr_points(label: np.ndarray, probability: np.ndarray) -> list[dict[str, float]]:
    precision, recall, _ = precision_recall_curve(label, probability)
    return [
        {"recall": _round(recall[i]), "precision": _round(precision[i])} for i in _thin(len(recall))
    ]


def calibration_points(
    label: np.ndarray, probability: np.ndarray, bins: int
) -> list[dict[str, float]]:
    """Mean predicted probability and observed delayed share per quantile bin."""
    observed, predicted = calibration_curve(label, probability, n_bins=bins, strategy="quantile")
    return [
        {"mean_predicted": _round(p), "fraction_delayed": _round(o)}
        for p, o in zip(predicted, observed, strict=True)
    ]


# Improvements within this of the margin count as the margin: 0.688 - 0.683 is
# 0.0049999999999999 in floating point, and "better by at least 0.005" must accept it. Far
# below any difference between two models' metrics that means anything.
MARGIN_TOLERANCE = 1e-9


def beats(metric: str, value: float, reference: float, margin: float) -> bool:
    """Whether `value` is better than `reference` by at least `margin` (up to
    MARGIN_TOLERANCE, so that floating-point error never rejects exactly the margin)."""
    improvement = value - reference if HIGHER_IS_BETTER[metric] else reference - value
    return improvement >= margin - MARGIN_TOLERANCE
