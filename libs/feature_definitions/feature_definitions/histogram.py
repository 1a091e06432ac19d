"""The bins of a numeric feature's histogram, shared by the feature build, which records the
train split's histogram in stats.json, and serving's drift monitor, which bins live values on
the recorded edges: both must put a value in the same bin, or the PSI compares different bins.

Edges e_1 < ... < e_k make k + 1 bins (-inf, e_1), [e_1, e_2), ..., [e_k, +inf): bin i holds
the values v with e_i <= v < e_(i+1) (`bin_indices`).

The edges are the train split's deciles. A value that carries a mass, a decile repeated (no
rain, precip 0, in most hours; two engines on most planes), gets a bin of its own: its edge m
and the next float above it, so that [m, nextafter(m)) holds m alone and the values above m
fall in the next bin. With the repeats merely dropped, m's bin would also hold every value above
it up to the next edge (all of them when m is the top decile), and live data moving off m, as
every hour of rain does, would stay in the same bin: a PSI of 0, drift never seen.
"""

from __future__ import annotations

import math

import numpy as np

EDGE_QUANTILES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def histogram_edges(values: np.ndarray) -> list[float]:
    """The increasing edges of the histogram of `values` (at least one), as above."""
    deciles = [float(q) for q in np.quantile(np.asarray(values, dtype="float64"), EDGE_QUANTILES)]
    edges = set(deciles)
    for mass in {q for q in deciles if deciles.count(q) > 1}:
        above = math.nextafter(mass, math.inf)
        # Nothing lies above the largest float: its bin is its own already.
        if math.isfinite(above):
            edges.add(above)
    return sorted(edges)


def bin_indices(values: np.ndarray, edges: np.ndarray | list[float]) -> np.ndarray:
    """The bin (0 to len(edges)) of each of `values` over increasing `edges`, as above."""
    bins: np.ndarray = np.searchsorted(
        np.asarray(edges, dtype="float64"), np.asarray(values, dtype="float64"), side="right"
    )
    return bins.astype("int64")


def bin_counts(values: np.ndarray, edges: np.ndarray | list[float]) -> np.ndarray:
    """How many of `values` fall in each of the len(edges) + 1 bins over `edges`."""
    counts: np.ndarray = np.bincount(bin_indices(values, edges), minlength=len(edges) + 1)
    return counts
