"""Both notebooks run top to bottom, on a small slice shaped like the pipeline's outputs, and are
committed without outputs (the nbstripout git hook strips them). What the charts draw is compared
with the figures the tests compute from the same slice."""

from __future__ import annotations

# isort: off
# First: the train package pins the numeric libraries' settings when it loads, and warns when
# numpy came before it (train/cpu_numerics.py).
import train  # noqa: F401

# isort: on
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, cast

import nbformat
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet as pq
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from contracts.tables import CURATED_TABLES
from feature_definitions.labels import ARRIVED, delayed, outcomes
from feature_definitions.weather import weather_features
from train.metrics import (
    HIGHER_IS_BETTER,
    calibration_points,
    max_f1_threshold,
    pr_points,
    roc_points,
    score,
)

NOTEBOOKS = Path(__file__).parent
ORIGINS = ("EWR", "JFK", "LGA")

# Run in the kernel before the notebook: each plt.show() first appends what every axes of the
# open figures draws to drawn.jsonl in the notebook's directory (bars by container label, lines
# by label, as plotted values), so a test can check the numbers behind a chart, not only that
# an image was made.
RECORDER = """
import json as _json

import matplotlib.pyplot as _plt

_show = _plt.show


def _drawing(ax):
    return {
        "title": ax.get_title(),
        "xticks": [label.get_text() for label in ax.get_xticklabels()],
        "yticks": [label.get_text() for label in ax.get_yticklabels()],
        "bars": {
            bars.get_label(): [
                float(bar.get_width() if bars.orientation == "horizontal" else bar.get_height())
                for bar in bars
            ]
            for bars in ax.containers
        },
        "lines": {
            line.get_label(): [
                [float(x) for x in line.get_xdata()],
                [float(y) for y in line.get_ydata()],
            ]
            for line in ax.get_lines()
        },
    }


def _recording_show(*args, **kwargs):
    with open("drawn.jsonl", "a") as drawn:
        for number in _plt.get_fignums():
            for ax in _plt.figure(number).axes:
                drawn.write(_json.dumps(_drawing(ax)) + "\\n")
    return _show(*args, **kwargs)


_plt.show = _recording_show
"""


def curated_slice(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two months of flights and hourly weather, in columns of the curated tables, written under
    `root` as curate writes them; returns the flights and the weather."""
    rng = np.random.default_rng(7)
    hours = pd.date_range("2013-08-01", "2013-09-30 23:00", freq="h", tz="UTC")
    weather = pd.DataFrame(
        [(origin, hour) for origin in ORIGINS for hour in hours], columns=["origin", "time_hour"]
    )
    weather["visib"] = rng.choice([0.5, 2.0, 4.0, 8.0, 10.0], len(weather))
    weather["precip"] = rng.choice([0.0, 0.0, 0.0, 0.02, 0.1, 0.5], len(weather))
    weather["wind_speed"] = rng.uniform(0, 25, len(weather))
    weather["wind_gust"] = np.where(weather["wind_speed"] > 15, weather["wind_speed"] * 1.4, np.nan)
    weather["temp"] = rng.uniform(55, 95, len(weather))
    weather["dewp"] = rng.uniform(45, 75, len(weather))
    weather["humid"] = rng.uniform(30, 100, len(weather))
    weather["wind_dir"] = rng.choice(np.arange(0.0, 360.0, 10.0), len(weather))
    weather["pressure"] = rng.uniform(1000, 1030, len(weather))
    flights = weather.sample(n=2_000, random_state=7)[["origin", "time_hour"]].reset_index(
        drop=True
    )
    # As upstream: some hours have no reading, and some readings are missing within an hour.
    weather = weather.drop(weather.sample(frac=0.05, random_state=8).index).reset_index(drop=True)
    for column in ("visib", "precip", "wind_speed"):
        weather.loc[weather.sample(frac=0.05, random_state=9).index, column] = np.nan
    flights["carrier"] = rng.choice(["AA", "B6", "DL", "EV", "UA"], len(flights))
    flights["month"] = flights["time_hour"].dt.month
    # HHMM in the contract; only whether there is one matters here.
    flights["dep_time"] = rng.integers(500, 2300, len(flights)).astype("float64")
    flights["arr_delay"] = rng.normal(5, 30, len(flights)).round()
    # Cancelled (no departure, no arrival) and diverted (a departure, no arrival): no label.
    unarrived = flights.sample(frac=0.02, random_state=7).index
    flights.loc[unarrived, "arr_delay"] = np.nan
    flights.loc[unarrived[: len(unarrived) // 2], "dep_time"] = np.nan
    for table, frame in (("flights", flights), ("weather", weather)):
        # Each column as curate writes it: the table's contract gives its Arrow type.
        contract = CURATED_TABLES[table].arrow_schema
        schema = pyarrow.schema([contract.field(column) for column in frame.columns])
        for month, part in frame.groupby(frame["time_hour"].dt.strftime("%Y-%m")):
            (root / table).mkdir(parents=True, exist_ok=True)
            rows = pyarrow.Table.from_pandas(part, schema=schema, preserve_index=False)
            pq.write_table(rows, root / table / f"{month}.parquet")
    return flights, weather


def arrived(flights: pd.DataFrame) -> pd.DataFrame:
    """The flights with a label (the library's definition), and the label as `late`."""
    kept = flights[outcomes(flights["dep_time"], flights["arr_delay"]) == ARRIVED]
    return kept.assign(late=delayed(kept["arr_delay"]))


# The curated notebook's weather charts, by title, and the feature each bands.
WEATHER_CHARTS = {
    "visibility (miles)": "visib",
    "precipitation (inches/hour)": "precip",
    "wind speed (mph)": "wind_speed",
}


def band(label: str) -> tuple[float, float]:
    """The edges of a pandas interval's tick label, "(lo, hi]"."""
    match = re.fullmatch(r"\((\S+), (\S+)\]", label)
    assert match, label
    return float(match[1]), float(match[2])


def evaluation_slice(root: Path) -> dict[str, dict[str, Any]]:
    """What train's evaluate step writes, from its own functions on made-up test labels:
    metrics.json (train.metrics.score per model) and plots/<model>/*.json; returns the
    metrics."""
    rng = np.random.default_rng(7)
    label = rng.binomial(1, 0.3, 400)
    noise = rng.uniform(0, 1, len(label))
    probabilities = {
        "baseline": np.clip(0.3 + 0.4 * (label - 0.3) + 0.5 * (noise - 0.5), 0.01, 0.99),
        # Sure of itself and wrong one time in four: a log loss above 1.
        "torch": np.where(noise < 0.25, 1 - label, label) * 0.98 + 0.01,
    }
    metrics = {
        model: score(label, probability, max_f1_threshold(label, probability))
        for model, probability in probabilities.items()
    }
    assert metrics["torch"]["log_loss"] > 1
    root.mkdir(parents=True)
    (root / "metrics.json").write_text(json.dumps(metrics))
    for model, probability in probabilities.items():
        plots = root / "plots" / model
        plots.mkdir(parents=True)
        for name, points in (
            ("roc", roc_points(label, probability)),
            ("pr", pr_points(label, probability)),
            ("calibration", calibration_points(label, probability, bins=10)),
        ):
            (plots / f"{name}.json").write_text(json.dumps(points))
    return metrics


@pytest.fixture(autouse=True)
def kernel_imports_what_the_test_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel is a new interpreter, and Pants puts the source roots (libs/*) on this test's
    # sys.path only, some relative to the sandbox (the kernel runs in tmp_path).
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(os.path.abspath(entry) for entry in sys.path))


def read(notebook: Path) -> nbformat.NotebookNode:
    # nbformat is untyped.
    reader: Any = nbformat.read
    return cast(nbformat.NotebookNode, reader(notebook, as_version=4))


def run(notebook: Path, cwd: Path) -> nbformat.NotebookNode:
    """The notebook as executed in `cwd`, with RECORDER run first (its cell is removed again)."""
    document = read(notebook)
    # nbformat is untyped.
    new_code_cell: Any = nbformat.v4.new_code_cell
    document.cells.insert(0, new_code_cell(RECORDER))
    NotebookClient(
        document, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    del document.cells[0]
    return document


def drawings(cwd: Path) -> dict[str, dict[str, Any]]:
    """What each titled axes drew (RECORDER), by title."""
    lines = (cwd / "drawn.jsonl").read_text().splitlines()
    return {drawing["title"]: drawing for drawing in map(json.loads, lines)}


def images(document: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in document.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def printed(document: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in document.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "stream"
    )


@pytest.mark.parametrize("name", ["curated_delays.ipynb", "model_analysis.ipynb"])
def test_committed_without_outputs(name: str) -> None:
    document = read(NOTEBOOKS / name)
    for cell in document.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, name


def test_the_curated_data_notebook_runs_and_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flights, weather = curated_slice(tmp_path / "curated")
    monkeypatch.setenv("NOTEBOOK_CURATED", str(tmp_path / "curated"))
    document = run(NOTEBOOKS / "curated_delays.ipynb", tmp_path)
    assert images(document) == 3  # carrier, month, weather

    late = arrived(flights)
    assert f"late: {late['late'].mean():.1%}" in printed(document).splitlines()
    drawn = drawings(tmp_path)
    by_carrier = drawn["Share of flights arriving late, by carrier"]
    [rates] = by_carrier["bars"].values()
    assert dict(zip(by_carrier["yticks"], rates, strict=True)) == pytest.approx(
        late.groupby("carrier")["late"].mean().to_dict()
    )
    [(months, rates)] = drawn["Share of flights arriving late, by month"]["lines"].values()
    by_month = late.groupby("month")["late"].mean()
    assert months == by_month.index.tolist()
    assert rates == pytest.approx(by_month.tolist())

    # The weather the feature service gives each flight: missing readings take its fills, so
    # every flight is in one of the bands drawn.
    features = weather_features(late["origin"], late["time_hour"], weather)
    assert (features["weather_known"] == 0).any() and late["late"].any()
    for title, column in WEATHER_CHARTS.items():
        chart = drawn[title]
        [rates] = chart["bars"].values()
        edges = [band(label) for label in chart["xticks"]]
        inside = [(features[column] > lo) & (features[column] <= hi) for lo, hi in edges]
        assert sum(int(flights_in.sum()) for flights_in in inside) == len(late), title
        assert rates == pytest.approx([late["late"][i].mean() for i in inside]), title


def test_the_model_analysis_notebook_runs_and_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = evaluation_slice(tmp_path / "evaluation")
    monkeypatch.setenv("NOTEBOOK_EVALUATION", str(tmp_path / "evaluation"))
    document = run(NOTEBOOKS / "model_analysis.ipynb", tmp_path)
    assert images(document) == 2  # scores, curves
    drawn = drawings(tmp_path)

    # The four scores, each model's as evaluate wrote it, a log loss above 1 included; not the
    # threshold, precision, recall or delayed share, though they lie in 0..1 as well.
    chart = drawn["Test-split scores by model"]
    plotted = {label.split(" ")[0]: values for label, values in chart["bars"].items()}
    assert sorted(plotted) == sorted(HIGHER_IS_BETTER)
    for name, values in plotted.items():
        assert values == [metrics[model][name] for model in chart["xticks"]], name

    # Every model's three curves, each point of them: an empty axis would still be an image.
    for name in ("roc", "pr", "calibration"):
        lines = drawn[name]["lines"]
        assert sorted(lines) == sorted(metrics), name
        for model, (x, y) in lines.items():
            path = tmp_path / "evaluation" / "plots" / model / f"{name}.json"
            columns = zip(*(point.values() for point in json.loads(path.read_text())), strict=True)
            assert [x, y] == [list(column) for column in columns], (model, name)


def test_the_model_analysis_notebook_names_a_curve_evaluate_did_not_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluation = tmp_path / "evaluation"
    evaluation_slice(evaluation)
    (evaluation / "plots" / "torch" / "pr.json").unlink()
    monkeypatch.setenv("NOTEBOOK_EVALUATION", str(evaluation))
    with pytest.raises(CellExecutionError, match=r"torch/pr\.json: evaluate writes"):
        run(NOTEBOOKS / "model_analysis.ipynb", tmp_path)
