import numpy as np
import pandas as pd

from feature.stats import bin_counts, categorical_stats, feature_stats, numeric_stats
from feature_definitions.features import FEATURE_KINDS


def test_numeric_stats_and_a_decile_histogram() -> None:
    stats = numeric_stats(pd.Series(np.arange(1, 101)))
    assert (stats["count"], stats["mean"], stats["min"], stats["max"]) == (100, 50.5, 1.0, 100.0)
    assert stats["quantiles"]["0.5"] == 50.5
    histogram = stats["histogram"]
    assert len(histogram["edges"]) == 9
    assert histogram["counts"] == [10] * 10
    assert histogram["proportions"] == [0.1] * 10


def test_binning_new_data_on_the_stored_edges() -> None:
    edges = [0.0, 1.0]
    # Bins (-inf, 0), [0, 1), [1, inf).
    assert bin_counts(np.array([-5.0, 0.0, 0.5, 1.0, 7.0]), edges).tolist() == [1, 2, 2]


def test_a_constant_feature_has_one_edge() -> None:
    histogram = numeric_stats(pd.Series([2] * 5))["histogram"]
    assert (histogram["edges"], histogram["counts"]) == ([2.0], [0, 5])


def test_categorical_proportions() -> None:
    stats = categorical_stats(pd.Series(["UA", "AA", "UA", "UA"]))
    assert stats["proportions"] == {"AA": 0.25, "UA": 0.75}
    assert stats["counts"] == {"AA": 1, "UA": 3}


def test_every_feature_gets_statistics_of_its_kind() -> None:
    table = pd.DataFrame(
        {name: ["x", "y"] if kind == "categorical" else [0.0, 1.0]
         for name, kind in FEATURE_KINDS.items()}
    )  # fmt: skip
    stats = feature_stats(table)
    assert {name: s["kind"] for name, s in stats.items()} == FEATURE_KINDS
