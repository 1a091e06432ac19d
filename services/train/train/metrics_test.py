import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from train.metrics import (
    CURVE_POINTS,
    HIGHER_IS_BETTER,
    beats,
    calibration_points,
    max_f1_threshold,
    pr_points,
    roc_points,
    score,
)

LABEL = np.array([0, 0, 1, 1, 0, 1, 0, 0])
PROBABILITY = np.array([0.1, 0.2, 0.8, 0.4, 0.35, 0.9, 0.05, 0.6])


def test_scores_match_hand_computed_values() -> None:
    metrics = score(LABEL, PROBABILITY, threshold=0.5)
    # Positives 0.8, 0.4, 0.9; negatives 0.1, 0.2, 0.35, 0.05, 0.6: 14 of 15 pairs ordered.
    assert metrics["roc_auc"] == pytest.approx(14 / 15)
    assert metrics["confusion"] == {"tn": 4, "fp": 1, "fn": 1, "tp": 2}
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["brier"] == pytest.approx(np.mean((PROBABILITY - LABEL) ** 2))
    assert metrics["rows"] == 8
    assert 0 < metrics["pr_auc"] <= 1
    assert metrics["log_loss"] > 0


def test_the_max_f1_threshold_is_the_best_on_the_data() -> None:
    threshold = max_f1_threshold(LABEL, PROBABILITY)
    f1 = {t: 2 * (c := score(LABEL, PROBABILITY, t)["confusion"])["tp"] / (
        2 * c["tp"] + c["fp"] + c["fn"]) for t in PROBABILITY}  # fmt: skip
    assert f1[threshold] == max(f1.values())


def test_curves_are_thinned_and_keep_their_ends() -> None:
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 5000)
    probability = rng.random(5000)
    roc = roc_points(label, probability)
    assert len(roc) <= CURVE_POINTS
    assert (roc[0]["fpr"], roc[-1]["fpr"], roc[-1]["tpr"]) == (0.0, 1.0, 1.0)
    assert len(pr_points(label, probability)) <= CURVE_POINTS
    calibration = calibration_points(label, probability, bins=5)
    assert len(calibration) == 5
    assert all(0 <= p["fraction_delayed"] <= 1 for p in calibration)


@pytest.mark.parametrize(
    ("metric", "value", "reference", "margin", "expected"),
    [
        ("roc_auc", 0.72, 0.71, 0.005, True),
        ("roc_auc", 0.712, 0.71, 0.005, False),
        ("roc_auc", 0.70, 0.71, -0.02, True),
        ("log_loss", 0.40, 0.45, 0.01, True),
        ("log_loss", 0.445, 0.45, 0.01, False),
        # Exactly the margin, though 0.688 - 0.683 < 0.005 in floating point.
        ("roc_auc", 0.688, 0.683, 0.005, True),
        ("log_loss", 0.683, 0.688, 0.005, True),
    ],
)
def test_beating_a_reference_respects_the_metric_direction_and_margin(
    metric: str, value: float, reference: float, margin: float, expected: bool
) -> None:
    assert beats(metric, value, reference, margin) is expected


@given(
    metric=st.sampled_from(sorted(HIGHER_IS_BETTER)),
    reference=st.integers(0, 10_000),
    margin=st.integers(0, 1_000),
)
def test_an_improvement_of_exactly_the_margin_beats_and_one_a_little_less_does_not(
    metric: str, reference: int, margin: int
) -> None:
    """Metrics and margins as params.yaml writes them (decimals, here in ten-thousandths): an
    improvement of exactly the margin beats whatever the floating-point error of the
    difference, in either direction of the metric; one a millionth short does not."""
    better = 1 if HIGHER_IS_BETTER[metric] else -1
    value, ref, gap = (reference + better * margin) / 10_000, reference / 10_000, margin / 10_000
    assert beats(metric, value, ref, gap)
    assert not beats(metric, value - better * 1e-6, ref, gap)
