"""Per-feature drift of live requests against the train split: a population stability index
over the recent rows, on the bins stats.json recorded (numeric) or the train categories.

PSI = sum over bins of (live - train) * ln(live / train), proportions clipped to EPSILON so an
empty bin stays finite. Rule of thumb: below 0.1 stable, 0.1 to 0.25 a shift, above 0.25 drift.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import pandas as pd

EPSILON = 1e-4
# Live rows each index is computed over.
WINDOW_ROWS = 1000
OTHER = "<other>"


def psi(live: np.ndarray, reference: np.ndarray) -> float:
    live = np.clip(live, EPSILON, None)
    reference = np.clip(reference, EPSILON, None)
    return float(np.sum((live - reference) * np.log(live / reference)))


class DriftMonitor:
    """Keeps the bin of each feature value of the last WINDOW_ROWS rows."""

    def __init__(self, stats: dict[str, Any], window_rows: int = WINDOW_ROWS) -> None:
        self._edges: dict[str, np.ndarray] = {}
        self._categories: dict[str, list[str]] = {}
        self._reference: dict[str, np.ndarray] = {}
        for name, feature in stats["features"].items():
            if feature["kind"] == "numeric":
                self._edges[name] = np.asarray(feature["histogram"]["edges"], dtype="float64")
                self._reference[name] = np.asarray(feature["histogram"]["proportions"])
            else:
                categories = sorted(feature["proportions"])
                self._categories[name] = [*categories, OTHER]
                proportions = [feature["proportions"][c] for c in categories]
                self._reference[name] = np.asarray([*proportions, 0.0])
        self._recent: dict[str, deque[int]] = {
            name: deque(maxlen=window_rows) for name in self._reference
        }

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self._reference)

    def _bins(self, name: str, values: pd.Series) -> np.ndarray:
        if name in self._edges:
            # The bins of stats.bin_counts: bin i holds e_i <= v < e_(i+1).
            bins: np.ndarray = np.searchsorted(
                self._edges[name], values.to_numpy(dtype="float64"), side="right"
            )
            return bins
        categories = self._categories[name]
        index = {c: i for i, c in enumerate(categories)}
        other = len(categories) - 1
        return np.asarray([index.get(str(v), other) for v in values], dtype="int64")

    def update(self, features: pd.DataFrame) -> dict[str, float]:
        """Add `features` rows; return the PSI of every feature over the recent rows."""
        result = {}
        for name, reference in self._reference.items():
            if name not in features.columns:
                continue
            recent = self._recent[name]
            recent.extend(int(b) for b in self._bins(name, features[name]))
            counts = np.bincount(np.fromiter(recent, dtype="int64"), minlength=len(reference))
            result[name] = psi(counts / counts.sum(), reference)
        return result
