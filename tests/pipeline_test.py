"""Cross-service integration: real upstream flights go through ingest, feature and train, each
service reading only what the previous one wrote, and the trained models land in a model store
from which they score a feature frame."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from feature.cli import main as feature_main
from feature_definitions.features import FEATURE_KINDS
from ingest.cli import main as ingest_main
from ingest.upstream import read_table
from model_registry.predictor import load_predictor
from model_registry.store import models, open_store
from train.cli import main as train_main

# The pipeline's parameters; a week of flights trains small models, and these keep it quick.
QUICK = [
    "--params",
    "params.yaml",
    "--set=train.torch.epochs=2",
    "--set=train.baseline.max_iter=30",
]


def test_real_flights_flow_from_landing_to_a_trained_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    days = ["--start", "2013-01-01", "--end", "2013-01-07"]
    tables = ["flights", "weather", "planes", "airports"]
    assert ingest_main(["land", *days, "--landing", str(landing), "--tables", *tables]) == 0
    flights = read_table("flights")
    upstream = flights[(flights["month"] == 1) & (flights["day"] <= 7)]

    curated = tmp_path / "curated"
    features = tmp_path / "features"
    models_dir = tmp_path / "models"
    assert ingest_main(["curate", "--landing", str(landing), "--curated", str(curated)]) == 0
    assert sorted(p.name for p in (curated / "airports").iterdir()) == ["airports.parquet"]
    splits = ["--train-end", "2013-01-04", "--validation-end", "2013-01-05"]
    threshold = yaml.safe_load(Path("params.yaml").read_text())["monitor"]["psi_threshold"]
    build = ["build", "--curated", str(curated), "--output", str(features), *splits]
    assert feature_main([*build, "--psi-threshold", str(threshold)]) == 0
    assert (
        train_main(["fit", "--features", str(features), "--output", str(models_dir), *QUICK]) == 0
    )
    store = tmp_path / "bentoml"
    monkeypatch.setenv("BENTOML_HOME", str(store))
    evaluate = ["evaluate", "--features", str(features), "--models", str(models_dir)]
    assert train_main([*evaluate, "--output", str(tmp_path / "evaluation"), *QUICK]) == 0

    parts = {n: pd.read_parquet(features / f"{n}.parquet") for n in ("train", "validation", "test")}
    table = pd.concat(parts.values(), ignore_index=True)
    arrived = upstream[upstream["arr_delay"].notna()]
    assert len(table) == len(arrived)
    assert table["delayed"].sum() == (arrived["arr_delay"] > 15).sum()
    assert {n: p["day"].unique().tolist() for n, p in parts.items()} == {
        "train": [1, 2, 3, 4], "validation": [5], "test": [6, 7],
    }  # fmt: skip
    summary = json.loads((features / "summary.json").read_text())
    assert summary["rows_in"] == len(upstream)
    assert summary["dropped_cancelled"] == upstream["dep_time"].isna().sum()
    assert (
        summary["dropped_diverted"]
        == (upstream["dep_time"].notna() & upstream["arr_delay"].isna()).sum()
    )
    assert summary["history_unplaced"] == 0
    assert json.loads((features / "stats.json").read_text())["psi_threshold"] == threshold

    numeric = [name for name, kind in FEATURE_KINDS.items() if kind == "numeric"]
    assert np.isfinite(table[numeric].to_numpy(dtype="float64")).all()
    assert table[list(FEATURE_KINDS)].notna().all().all()

    # UA 1545 EWR-IAH, 05:15 on 1 January, flew in the EWR weather of 05:00 (10:00Z) upstream.
    weather = read_table("weather")
    expected = weather[
        (weather["origin"] == "EWR") & (weather["time_hour"] == "2013-01-01T10:00:00Z")
    ]
    ua1545 = table[(table["carrier"] == "UA") & (table["flight"] == 1545) & (table["day"] == 1)]
    for column in ("temp", "dewp", "humid", "wind_speed", "pressure"):
        assert ua1545[column].tolist() == expected[column].tolist(), column
    assert ua1545["weather_known"].tolist() == [1]
    # N14228, built in 1999: 14 years old in 2013.
    assert ua1545[["plane_known", "plane_age", "seats"]].values.tolist() == [[1, 14, 149]]
    # Its carrier's trailing window was empty: the first UA flight of the year.
    assert ua1545["carrier_trailing_flights"].tolist() == [0]
    assert table["carrier_trailing_flights"].max() > 0

    registered = models(open_store(store))
    assert sorted(m.info.labels["role"] for m in registered) == ["baseline", "candidate"]
    for model in registered:
        probability = load_predictor(Path(model.path)).predict_proba(parts["test"])
        assert len(probability) == len(parts["test"])
        assert ((probability > 0) & (probability < 1)).all()
