"""Cross-service integration: real upstream flights go through ingest, feature and train, each
service reading only what the previous one wrote."""

from pathlib import Path

import pandas as pd

from feature.cli import main as feature_main
from ingest.cli import main as ingest_main
from ingest.upstream import read_table
from train.cli import main as train_main


def test_real_flights_flow_from_landing_to_a_trained_model(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    days = ["--start", "2013-01-01", "--end", "2013-01-07"]
    assert (
        ingest_main(
            ["land", *days, "--landing", str(landing), "--tables", "flights", "weather", "planes"]
        )
        == 0
    )
    flights = read_table("flights")
    upstream = flights[(flights["month"] == 1) & (flights["day"] <= 7)]

    curated = tmp_path / "curated"
    table = tmp_path / "features" / "table.parquet"
    model = tmp_path / "models" / "baseline.joblib"
    assert ingest_main(["curate", "--landing", str(landing), "--curated", str(curated)]) == 0
    assert feature_main(["--input", str(curated / "flights"), "--output", str(table)]) == 0
    assert train_main(["--input", str(table), "--model", str(model)]) == 0

    training = pd.read_parquet(table)
    arrived = upstream["arr_delay"].notna().sum()
    assert len(training) == arrived
    assert training["delayed"].sum() == (upstream["arr_delay"] > 15).sum()
    assert model.stat().st_size > 0
