from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from feature_definitions.labels import LABEL
from train.baseline import TrainingDataError, fit_baseline, train_file
from train.cli import main


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


def test_missing_values_in_a_feature_are_rejected_by_name() -> None:
    holed = table().astype({"dep_hour": "float64"})
    holed.loc[3, "dep_hour"] = np.nan
    with pytest.raises(TrainingDataError, match="missing values in dep_hour"):
        fit_baseline(holed)


def test_trains_on_the_train_split_of_a_features_directory(tmp_path: Path) -> None:
    features = tmp_path / "features"
    features.mkdir()
    table().to_parquet(features / "train.parquet")
    # The other splits are not training data: a broken one must not matter.
    (features / "validation.parquet").write_text("not parquet")
    model = tmp_path / "models" / "baseline.joblib"

    assert main(["--features", str(features), "--model", str(model)]) == 0

    report = train_file(features, tmp_path / "again.joblib")
    assert report.rows == 400
    assert joblib.load(model).coef_.shape == (1, 4)


def test_a_features_directory_without_a_train_split_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "baseline.joblib"
    assert main(["--features", str(tmp_path), "--model", str(model)]) == 2
    assert "no train split" in capsys.readouterr().err
    assert not model.exists()
