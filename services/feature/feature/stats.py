"""Per-feature distribution statistics of the train split, the reference for drift monitoring.

Numeric features: count, mean, std (population), min, max, quantiles, and a histogram over
fixed bin edges (feature_definitions.histogram: the train split's deciles, a repeated one, a value
carrying a mass, given a bin of its own). With edges e_1 < ... < e_k the bins are (-inf, e_1),
[e_1, e_2), ..., [e_k, +inf): bin i holds the values v with e_i <= v < e_(i+1). Binning live data
on the same edges, with the same code, gives the proportions that a population stability index
compares. Categorical features: count and the proportion of each category.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from feature_definitions.features import FEATURES
from feature_definitions.histogram import bin_counts, histogram_edges

QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


def numeric_stats(series: pd.Series) -> dict[str, Any]:
    values = series.to_numpy(dtype="float64")
    edges = histogram_edges(values)
    counts = bin_counts(values, edges)
    return {
        "kind": "numeric",
        "count": len(values),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
        "quantiles": {
            str(q): float(v) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES), strict=True)
        },
        "histogram": {
            "edges": edges,
            "counts": [int(c) for c in counts],
            "proportions": [float(c) / len(values) for c in counts],
        },
    }


def categorical_stats(series: pd.Series) -> dict[str, Any]:
    counts = series.astype("string").value_counts().sort_index()
    return {
        "kind": "categorical",
        "count": int(counts.sum()),
        "counts": {str(k): int(v) for k, v in counts.items()},
        "proportions": {str(k): float(v) / int(counts.sum()) for k, v in counts.items()},
    }


def feature_stats(train: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Statistics of every declared feature over `train` (at least one row)."""
    if train.empty:
        raise ValueError("statistics need at least one row")
    return {
        feature.name: numeric_stats(train[feature.name])
        if feature.kind == "numeric"
        else categorical_stats(train[feature.name])
        for feature in FEATURES
    }
