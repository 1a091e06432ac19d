import numpy as np
import pandas as pd
import pytest

from train.baseline import LABEL, TrainingDataError, fit_baseline


def table(rows: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dep_hour = rng.integers(5, 23, rows)
    # Evening departures are late more often, as in the real data.
    delayed = (rng.random(rows) < np.where(dep_hour >= 17, 0.6, 0.1)).astype("int8")
    return pd.DataFrame(
        {
            "month_of_year": rng.integers(1, 13, rows),
            "day_of_week": rng.integers(0, 7, rows),
            "dep_hour": dep_hour,
            "is_weekend": rng.integers(0, 2, rows),
            LABEL: delayed,
        }
    )


def test_baseline_learns_the_evening_effect() -> None:
    _, report = fit_baseline(table())
    assert report.rows == 400
    assert report.train_roc_auc > 0.7


def test_same_data_and_seed_give_the_same_model() -> None:
    first, _ = fit_baseline(table(), seed=3)
    second, _ = fit_baseline(table(), seed=3)
    assert np.array_equal(first.coef_, second.coef_)


def test_single_class_label_is_rejected_by_name() -> None:
    single = table().assign(**{LABEL: 0})
    with pytest.raises(TrainingDataError, match="single class"):
        fit_baseline(single)


def test_missing_feature_is_named() -> None:
    with pytest.raises(TrainingDataError, match="missing column\\(s\\) dep_hour"):
        fit_baseline(table().drop(columns=["dep_hour"]))
