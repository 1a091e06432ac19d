import numpy as np
import pandas as pd

from serve.drift import DriftMonitor, psi

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


def test_a_shift_and_an_unseen_category_drift() -> None:
    monitor = DriftMonitor(STATS, window_rows=4)
    monitor.update(pd.DataFrame({"x": [0.5] * 4, "c": ["a"] * 4}))
    result = monitor.update(pd.DataFrame({"x": [5.0] * 4, "c": ["z"] * 4}))
    # Only the last 4 rows count: all in the top bin, all an unseen category.
    assert result["x"] == psi(np.array([0, 0, 1.0]), np.array([0.25, 0.5, 0.25]))
    assert result["x"] > 0.25 and result["c"] > 0.25
