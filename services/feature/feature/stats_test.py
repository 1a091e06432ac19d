import math

import numpy as np
import pandas as pd

from feature.stats import categorical_stats, feature_stats, numeric_stats
from feature_definitions.features import FEATURE_KINDS


def test_numeric_stats_and_a_decile_histogram() -> None:
    stats = numeric_stats(pd.Series(np.arange(1, 101)))
    assert (stats["count"], stats["mean"], stats["min"], stats["max"]) == (100, 50.5, 1.0, 100.0)
    assert stats["quantiles"]["0.5"] == 50.5
    histogram = stats["histogram"]
    assert len(histogram["edges"]) == 9
    assert histogram["counts"] == [10] * 10
    assert histogram["proportions"] == [0.1] * 10


def test_a_constant_feature_has_a_bin_of_its_own_value() -> None:
    """Bins below 2, exactly 2, above 2: a plane with 3 or 4 engines falls outside 2's bin."""
    histogram = numeric_stats(pd.Series([2] * 5))["histogram"]
    assert histogram["edges"] == [2.0, math.nextafter(2.0, math.inf)]
    assert histogram["counts"] == [0, 5, 0]


def test_a_mostly_dry_precip_keeps_rain_apart_from_no_rain() -> None:
    """The repeated deciles dropped, precip's one edge was 0, and rain fell in no-rain's bin."""
    precip = pd.Series([0.0] * 936 + [0.01, 0.05, 0.3, 1.21] * 16)
    histogram = numeric_stats(precip)["histogram"]
    assert histogram["edges"] == [0.0, math.nextafter(0.0, math.inf)]
    assert histogram["counts"] == [0, 936, 64]
    assert histogram["proportions"] == [0.0, 0.936, 0.064]


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
