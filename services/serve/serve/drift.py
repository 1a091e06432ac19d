"""Per-feature drift of live requests against the train split: a population stability index
over the recent rows, on the bins stats.json recorded (numeric) or the train categories.

PSI = sum over bins of (live - train) * ln(live / train), proportions clipped to EPSILON so an
empty bin stays finite. Rule of thumb: below 0.1 stable, 0.1 to 0.25 a shift, above 0.25 drift.
The threshold the alert uses is in stats.json too (feature_definitions.drift_threshold): the
service exports it beside the PSI.

A monitor reports nothing until its window holds WINDOW_ROWS rows: over a few rows the PSI is
noise (one row drawn from the train split itself reads above 9, two hundred above 0.6), and a
worker's gauge keeps its last value, so a worker that has scored little would hold the drift
alert on undrifted traffic. Features a time split can never share with the train split
(feature_definitions.drift_monitoring.NOT_DRIFT_MONITORED: `month_of_year`) are not watched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from feature_definitions.drift_monitoring import NOT_DRIFT_MONITORED
from feature_definitions.drift_threshold import PSI_THRESHOLD_KEY, psi_threshold_value
from feature_definitions.histogram import bin_indices

EPSILON = 1e-4
# Live rows each index is computed over; none is reported over fewer.
WINDOW_ROWS = 1000
OTHER = "<other>"
T = TypeVar("T")


class StatisticsError(ValueError):
    """The statistics file lacks what serving needs; the message names the file and the key."""


def recorded(
    stats: dict[str, Any], key: str, param: str, source: str, parse: Callable[[object, str], T]
) -> T:
    """`stats[key]`, a parameter (params.yaml's `param`) the feature build records beside the
    statistics, read from the file `source` and checked by `parse` (which raises ValueError
    naming the key). No default: a file from an older build would otherwise be served with a
    value nobody set."""
    if key not in stats:
        raise StatisticsError(
            f"{source} has no {key!r} key (params.yaml {param}, written by the feature build): "
            "it was built before the feature build recorded it; rebuild it (dvc repro features)"
        )
    try:
        return parse(stats[key], repr(key))
    except ValueError as error:
        raise StatisticsError(f"{source}: {error}") from None


def psi_threshold(stats: dict[str, Any], source: str) -> float:
    """The drift threshold in `stats`, read from the file `source`."""
    return recorded(stats, PSI_THRESHOLD_KEY, "monitor.psi_threshold", source, psi_threshold_value)


def psi(live: np.ndarray, reference: np.ndarray) -> float:
    live = np.clip(live, EPSILON, None)
    reference = np.clip(reference, EPSILON, None)
    return float(np.sum((live - reference) * np.log(live / reference)))


class _Recent:
    """The bins of the last `size` rows, in a ring: adding a batch is one array write."""

    def __init__(self, size: int) -> None:
        self._ring = np.zeros(size, dtype="int64")
        self._next = 0
        self._filled = 0

    def extend(self, bins: np.ndarray) -> None:
        size = len(self._ring)
        bins = bins[-size:]
        slots = (self._next + np.arange(len(bins))) % size
        self._ring[slots] = bins
        self._next = (self._next + len(bins)) % size
        self._filled = min(size, self._filled + len(bins))

    @property
    def rows(self) -> int:
        return self._filled

    @property
    def full(self) -> bool:
        return self._filled == len(self._ring)

    def counts(self, minlength: int) -> np.ndarray:
        counts: np.ndarray = np.bincount(self._ring[: self._filled], minlength=minlength)
        return counts


def numbers(values: object, what: str) -> np.ndarray:
    """`values`, a list of finite numbers, as float64; else StatisticsError naming `what`. A
    string or null there would load, then fail every batch: drift unwatched."""
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise StatisticsError(f"{what} must be a list of numbers")
    array = np.asarray(values, dtype="float64")
    if not np.isfinite(array).all():
        raise StatisticsError(f"{what} must be finite")
    return array


def proportions_of(values: object, what: str) -> np.ndarray:
    array = numbers(values, what)
    if (array < 0).any():
        raise StatisticsError(f"{what} must be at least 0")
    return array


class DriftMonitor:
    """Keeps the bin of each watched feature's value of the last WINDOW_ROWS rows; the features
    of NOT_DRIFT_MONITORED are not watched, whatever the statistics hold of them."""

    def __init__(self, stats: dict[str, Any], window_rows: int = WINDOW_ROWS) -> None:
        self._edges: dict[str, np.ndarray] = {}
        self._categories: dict[str, dict[str, int]] = {}
        self._reference: dict[str, np.ndarray] = {}
        for name, feature in stats["features"].items():
            if name in NOT_DRIFT_MONITORED:
                continue
            if feature["kind"] == "numeric":
                histogram = feature["histogram"]
                where = f"feature {name!r}: histogram"
                edges = numbers(histogram["edges"], f"{where} edges")
                if not (np.diff(edges) > 0).all():
                    raise StatisticsError(f"{where} edges must be increasing")
                self._edges[name] = edges
                self._reference[name] = proportions_of(
                    histogram["proportions"], f"{where} proportions"
                )
                # len(edges) + 1 bins (feature_definitions.histogram); else every batch would fail.
                if len(self._reference[name]) != len(self._edges[name]) + 1:
                    raise StatisticsError(
                        f"feature {name!r}: {len(self._reference[name])} proportions for "
                        f"{len(self._edges[name])} edges, expected {len(self._edges[name]) + 1}"
                    )
            else:
                categories = sorted(feature["proportions"])
                self._categories[name] = {c: i for i, c in enumerate([*categories, OTHER])}
                proportions = [feature["proportions"][c] for c in categories]
                where = f"feature {name!r}: proportions"
                self._reference[name] = proportions_of([*proportions, 0.0], where)
        self._recent = {name: _Recent(window_rows) for name in self._reference}

    @property
    def features(self) -> tuple[str, ...]:
        """The watched features."""
        return tuple(self._reference)

    @property
    def rows(self) -> int:
        """Rows in the window of the watched feature that has the fewest (a batch lacking a
        feature's column adds none to its window): the PSI of every feature is reported once
        this is `window_rows`."""
        return min((recent.rows for recent in self._recent.values()), default=0)

    def _bins(self, name: str, values: pd.Series) -> np.ndarray:
        if name in self._edges:
            # The bins the feature build counted the train split in.
            return bin_indices(values.to_numpy(dtype="float64"), self._edges[name])
        index = self._categories[name]
        other = len(index) - 1
        return np.asarray([index.get(str(v), other) for v in values.tolist()], dtype="int64")

    def update(self, features: pd.DataFrame) -> dict[str, float]:
        """Add `features` rows; return the PSI of every watched feature over the last
        `window_rows` rows, only once that many have been added (before, nothing)."""
        result = {}
        for name, reference in self._reference.items():
            if name not in features.columns:
                continue
            recent = self._recent[name]
            recent.extend(self._bins(name, features[name]))
            if not recent.full:
                continue
            counts = recent.counts(len(reference))
            result[name] = psi(counts / counts.sum(), reference)
        return result
