import math

import pandas as pd
import pytest

from serve.drift import DriftMonitor

STATS = {
    "features": {
        "x": {
            "kind": "numeric",
            "histogram": {"edges": [1.0, 2.0], "proportions": [0.25, 0.5, 0.25]},
        },
        "c": {"kind": "categorical", "proportions": {"a": 0.5, "b": 0.5}},
    }
}  # fmt: skip


def test_same_distribution_has_no_drift() -> None:
    monitor = DriftMonitor(STATS)
    result = monitor.update(pd.DataFrame({"x": [0.5, 1.0, 1.5, 2.5], "c": ["a", "b", "a", "b"]}))
    assert result == {"x": 0.0, "c": 0.0}


def spelled_out_psi(live: list[float], reference: list[float]) -> float:
    """PSI as serve/drift.py's docstring defines it, term by term, each proportion clipped to
    1e-4: an expectation that does not go through the code under test."""
    clipped = [(max(a, 1e-4), max(b, 1e-4)) for a, b in zip(live, reference, strict=True)]
    return sum((a - b) * math.log(a / b) for a, b in clipped)


def test_a_shift_and_an_unseen_category_drift() -> None:
    monitor = DriftMonitor(STATS, window_rows=4)
    monitor.update(pd.DataFrame({"x": [0.5] * 4, "c": ["a"] * 4}))
    result = monitor.update(pd.DataFrame({"x": [5.0] * 4, "c": ["z"] * 4}))
    # Only the last 4 rows count: all in the top bin, all an unseen category (bins a, b, other).
    assert result["x"] == pytest.approx(spelled_out_psi([0, 0, 1], [0.25, 0.5, 0.25]))
    assert result["x"] == pytest.approx(7.2527, abs=1e-4)  # finite: empty bins are clipped
    assert result["c"] == pytest.approx(spelled_out_psi([0, 0, 1], [0.5, 0.5, 0]))


def test_the_window_holds_the_last_rows_across_batches() -> None:
    monitor = DriftMonitor(STATS, window_rows=4)
    monitor.update(pd.DataFrame({"x": [0.5] * 3, "c": ["a"] * 3}))
    result = monitor.update(pd.DataFrame({"x": [5.0] * 2, "c": ["b"] * 2}))
    # The last four rows: two of the first batch (bottom bin, a) and both of the second (top, b).
    assert result["x"] == pytest.approx(spelled_out_psi([0.5, 0, 0.5], [0.25, 0.5, 0.25]))
    assert result["c"] == pytest.approx(spelled_out_psi([0.5, 0.5, 0], [0.5, 0.5, 0]))
    assert result["c"] == pytest.approx(0.0)
