import math

import numpy as np

from feature_definitions.histogram import (
    EDGE_QUANTILES,
    bin_counts,
    bin_indices,
    histogram_edges,
)

# The train split's precip in 2013: no rain in 93.6% of the rows, a few hundredths of an inch in
# the rest. Here 936 dry rows in 1,000.
DRY = np.zeros(936)
RAIN = np.resize([0.01, 0.02, 0.03, 0.08, 0.25, 1.21], 64)
PRECIP = np.concatenate([DRY, RAIN])


def test_distinct_deciles_are_the_edges() -> None:
    values = np.arange(1, 101)
    assert histogram_edges(values) == np.quantile(values, EDGE_QUANTILES).tolist()


def test_a_value_with_a_mass_gets_a_bin_of_its_own() -> None:
    """With the repeats merely dropped, precip's edges were [0.0]: dry and rain in one bin."""
    edges = histogram_edges(PRECIP)
    assert edges == [0.0, math.nextafter(0.0, math.inf)]
    # Bins: below 0 (none), exactly 0, above 0.
    assert bin_counts(PRECIP, edges).tolist() == [0, 936, 64]
    assert bin_counts(np.array([0.5, 0.01, 1e-300]), edges).tolist() == [0, 0, 3]


def test_planes_with_other_than_two_engines_fall_outside_the_two_engine_bin() -> None:
    engines = np.array([2.0] * 95 + [1.0] * 3 + [4.0] * 2)
    edges = histogram_edges(engines)
    assert edges == [2.0, math.nextafter(2.0, math.inf)]
    assert bin_counts(engines, edges).tolist() == [3, 95, 2]
    assert bin_counts(np.array([3.0, 4.0, 3.0]), edges).tolist() == [0, 0, 3]


def test_a_mass_among_distinct_deciles_is_split_from_the_values_above_it() -> None:
    values = np.concatenate([np.arange(10.0), np.full(30, 10.0), np.arange(11.0, 71.0)])
    edges = histogram_edges(values)
    assert 10.0 in edges
    assert edges[edges.index(10.0) + 1] == math.nextafter(10.0, math.inf)
    assert bin_counts(np.array([10.0]), edges)[edges.index(10.0) + 1] == 1
    assert bin_counts(np.array([10.5]), edges)[edges.index(10.0) + 1] == 0


def test_a_bin_holds_its_lower_edge_and_not_its_upper() -> None:
    # Bins (-inf, 0), [0, 1), [1, inf).
    edges = [0.0, 1.0]
    assert bin_indices(np.array([-5.0, 0.0, 0.5, 1.0, 7.0]), edges).tolist() == [0, 1, 1, 2, 2]
    assert bin_counts(np.array([-5.0, 0.0, 0.5, 1.0, 7.0]), edges).tolist() == [1, 2, 2]
