"""The DVC pipeline for real, in a throwaway checkout made of this test's inputs: each stage runs
its service's built artifact (packaged by Pants for this test), from landing to trained, evaluated
and registered models; `dvc metrics show` and `dvc plots show` read the evaluation; a second
`dvc repro` checks the artifacts and runs no stage; `dvc push` then `dvc pull` into a fresh clone
gives identical hashes; `dvc exp run -S train...` with `dvc metrics diff` compares a variant; a
stale or missing artifact stops the repro with the command to run.

No `./pants` runs here: which stages a change reaches is a test of the build
(stage_selection_test.py), so a service change does not pay for it."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from feature_definitions.features import FEATURE_KINDS
from ingest.upstream import read_table
from tests.build.repo_copy import RepoCopy
from tests.dvc.slice_repo import (
    SLICE_PARAMS,
    artifacts,
    changed_stages,
    dvc,
    run_dvc,
    sliced,
)

# `runtime_package_dependencies` puts the services' artifacts at the sandbox root, the cwd, laid
# out as under dist/.
SANDBOX_ROOT = Path.cwd()
STAGE_OUTPUTS = (
    "data/landing",
    "data/curated",
    "data/features",
    "data/online_store",
    "data/models",
    "data/evaluation",
)


# The checkout the stages run in: what this test's dependencies (BUILD) lay out in the sandbox.
# The pipeline and git's ignore files; the services' code, which the artifact check compares with
# their PEXes, and the source roots (pants.toml) and lockfile it reads with it.
CHECKOUT = (
    "dvc.yaml",
    "dvc.lock",
    "params.yaml",
    ".dvcignore",
    ".dvc",
    ".gitignore",
    "services",
    "libs",
    "tools",
    "pants.toml",
    "3rdparty/python/default.lock",
)

# Written by evaluate beside its outputs but not one of them (see .gitignore).
REGISTRATION_RECORD = "registry.json"


def file_hashes(repo: Path) -> dict[str, str]:
    hashes = {}
    for output in STAGE_OUTPUTS:
        for path in sorted((repo / output).rglob("*")):
            if path.is_file() and path.name != REGISTRATION_RECORD:
                hashes[str(path.relative_to(repo))] = hashlib.md5(path.read_bytes()).hexdigest()
    return hashes


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[RepoCopy, Path, str]:
    """A repo copy on the test slice, reproduced once; its remote; the first repro's output
    (stdout and stderr)."""
    base = tmp_path_factory.mktemp("dvc")
    repo = sliced(RepoCopy.of_files(SANDBOX_ROOT, CHECKOUT, base / "repo"))
    remote = base / "remote"
    dvc(repo.root, "remote", "modify", "--local", "local", "url", str(remote))
    assert artifacts(repo.root, "place", "--built", str(SANDBOX_ROOT)).returncode == 0
    first = dvc(repo.root, "repro", with_stderr=True)
    return repo, remote, first


def test_repro_runs_every_stage_and_writes_the_outputs(
    pipeline: tuple[RepoCopy, Path, str],
) -> None:
    repo, _, first = pipeline
    stages = yaml.safe_load((repo.root / "dvc.yaml").read_text())["stages"]
    assert len(stages) >= 6
    for stage in stages:
        assert f"Running stage '{stage}'" in first
    landed = sorted(p.name for p in (repo.root / "data/landing/flights").iterdir())
    assert landed == ["2013-01-01.csv", "2013-01-02.csv", "2013-01-03.csv"]
    assert (repo.root / "data/curated/flights/2013-01.parquet").is_file()
    summary = json.loads((repo.root / "data/features/summary.json").read_text())
    assert all(summary["rows_per_split"][split] > 0 for split in ("train", "validation", "test"))
    # The features stage carries params' drift threshold and window into the statistics serve
    # reads (serve checks the online store's window against this one).
    stats = json.loads((repo.root / "data/features/stats.json").read_text())
    assert stats["psi_threshold"] == SLICE_PARAMS["monitor"]["psi_threshold"]
    assert stats["window_days"] == SLICE_PARAMS["features"]["window_days"]
    # DVC, not git, holds the data: DVC has the outputs ignored.
    ignored = (repo.root / "data/.gitignore").read_text().split()
    assert {"/landing", "/curated", "/features", "/models"} <= set(ignored)
    ignored = (repo.root / "data/evaluation/.gitignore").read_text().split()
    assert set(ignored) == {"/metrics.json", "/plots"}
    # The registration record is per machine: git ignores it and DVC does not track it.
    repo.git("check-ignore", "data/evaluation/registry.json")


def test_the_features_keep_every_arrived_flight_with_its_weather_and_plane(
    pipeline: tuple[RepoCopy, Path, str],
) -> None:
    """The stages' data against the upstream source itself: each service read only what the
    previous one wrote, and nothing was lost or mis-joined on the way."""
    repo, _, _ = pipeline
    features = repo.root / "data/features"
    flights = read_table("flights")
    upstream = flights[(flights["month"] == 1) & (flights["day"] <= 3)]
    parts = {n: pd.read_parquet(features / f"{n}.parquet") for n in ("train", "validation", "test")}
    table = pd.concat(parts.values(), ignore_index=True)
    arrived = upstream[upstream["arr_delay"].notna()]
    assert len(table) == len(arrived)
    assert table["delayed"].sum() == (arrived["arr_delay"] > 15).sum()
    assert {n: p["day"].unique().tolist() for n, p in parts.items()} == {
        "train": [1], "validation": [2], "test": [3],
    }  # fmt: skip
    summary = json.loads((features / "summary.json").read_text())
    assert summary["rows_in"] == len(upstream)
    assert summary["dropped_cancelled"] == upstream["dep_time"].isna().sum()
    assert (
        summary["dropped_diverted"]
        == (upstream["dep_time"].notna() & upstream["arr_delay"].isna()).sum()
    )
    assert summary["history_unplaced"] == 0
    numeric = [name for name, kind in FEATURE_KINDS.items() if kind == "numeric"]
    assert np.isfinite(table[numeric].to_numpy(dtype="float64")).all()
    assert table[list(FEATURE_KINDS)].notna().all().all()

    # UA 1453 EWR-IAH, 05:15 on 2 January, has the EWR weather of a day before, 05:00 (10:00Z)
    # on 1 January upstream, the weather known when it is scored.
    weather = read_table("weather")
    expected = weather[
        (weather["origin"] == "EWR") & (weather["time_hour"] == "2013-01-01T10:00:00Z")
    ]
    ua1453 = table[(table["carrier"] == "UA") & (table["flight"] == 1453) & (table["day"] == 2)]
    for column in ("temp", "dewp", "humid", "wind_speed", "pressure"):
        assert ua1453[column].tolist() == expected[column].tolist(), column
    assert ua1453["weather_known"].tolist() == [1]
    # UA 1545, 05:15 on 1 January: its weather, of 31 December 2012, is before the data.
    ua1545 = table[(table["carrier"] == "UA") & (table["flight"] == 1545) & (table["day"] == 1)]
    assert ua1545["weather_known"].tolist() == [0]
    # N14228, built in 1999: 14 years old in 2013.
    assert ua1545[["plane_known", "plane_age", "seats"]].values.tolist() == [[1, 14, 149]]
    # Its carrier's trailing window was empty: the first UA flight of the year.
    assert ua1545["carrier_trailing_flights"].tolist() == [0]
    assert table["carrier_trailing_flights"].max() > 0


def registered_models(repo: RepoCopy) -> list[dict[str, Any]]:
    """The model.yaml of every model in the repo's default store, build/bentoml."""
    store = repo.root / "build/bentoml/models/flight-delay"
    return [yaml.safe_load(info.read_text()) for info in sorted(store.glob("*/model.yaml"))]


def test_evaluate_registers_both_models_with_their_provenance(
    pipeline: tuple[RepoCopy, Path, str],
) -> None:
    repo, _, first = pipeline
    registry = json.loads((repo.root / "data/evaluation/registry.json").read_text())
    assert registry["store"] == str(repo.root / "build/bentoml")
    assert registry["decision"]["reason"] in first  # the run says whether it promoted
    models = registered_models(repo)
    assert sorted(m["labels"]["role"] for m in models) == ["baseline", "candidate"]
    lock = yaml.safe_load((repo.root / "dvc.lock").read_text())
    (features_out,) = lock["stages"]["features"]["outs"]
    head = repo.git("rev-parse", "HEAD").strip()
    for model in models:
        assert model["metadata"]["features_dvc_hash"] == features_out["md5"]
        assert model["metadata"]["git_commit"] == head
        assert model["metadata"]["params"]["train"]["torch"]["epochs"] == 2


def test_metrics_and_plots_show_the_evaluation(pipeline: tuple[RepoCopy, Path, str]) -> None:
    repo, _, _ = pipeline
    shown = json.loads(dvc(repo.root, "metrics", "show", "--json"))
    metrics = shown[""]["data"]["data/evaluation/metrics.json"]["data"]
    for model in ("baseline", "torch"):
        assert 0 < metrics[model]["roc_auc"] <= 1
        assert set(metrics[model]["confusion"]) == {"tn", "fp", "fn", "tp"}
    plots = json.loads(dvc(repo.root, "plots", "show", "--json"))["data"]
    assert {"roc", "precision_recall", "calibration", "learning_curve"} <= set(plots)
    assert "data/evaluation/plots/torch/confusion.csv" in plots
    for plot in plots.values():
        assert plot[0]["type"] == "vega"
        assert "error" not in json.dumps(plot).lower()


def test_a_second_repro_checks_the_artifacts_and_runs_no_stage(
    pipeline: tuple[RepoCopy, Path, str],
) -> None:
    repo, _, _ = pipeline
    again = dvc(repo.root, "repro", with_stderr=True)
    assert "Running stage" not in again
    assert "artifacts: 3 up to date" in again
    assert json.loads(dvc(repo.root, "status", "--json")) == {}


def test_push_then_pull_into_a_fresh_clone_gives_identical_hashes(
    pipeline: tuple[RepoCopy, Path, str], tmp_path: Path
) -> None:
    repo, remote, _ = pipeline
    dvc(repo.root, "push")
    repo.commit("lock the pipeline's outputs")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True)
    assert not (clone / "data/features").exists()
    dvc(clone, "remote", "modify", "--local", "local", "url", str(remote))
    dvc(clone, "pull")
    assert file_hashes(clone) == file_hashes(repo.root)
    # A clone builds its own artifacts (here: those packaged for this test, the same bytes).
    assert artifacts(clone, "place", "--built", str(SANDBOX_ROOT)).returncode == 0
    ran = dvc(clone, "repro", with_stderr=True)
    assert "Running stage" not in ran
    assert json.loads(dvc(clone, "status", "--json")) == {}


def test_an_experiment_on_a_train_param_shows_in_metrics_diff(
    pipeline: tuple[RepoCopy, Path, str],
) -> None:
    repo, _, _ = pipeline
    repo.commit("the pipeline's outputs, before the experiment")
    ran = dvc(repo.root, "exp", "run", "-S", "train.torch.epochs=1")
    assert "Running stage 'train'" in ran
    assert "Running stage 'features'" not in ran
    diff = json.loads(dvc(repo.root, "metrics", "diff", "--json"))
    changes = diff["data/evaluation/metrics.json"]
    assert "torch.roc_auc" in changes
    assert changes["torch.roc_auc"]["new"] != changes["torch.roc_auc"]["old"]
    assert "baseline.roc_auc" not in changes  # the baseline did not change


def test_a_stale_or_missing_artifact_stops_the_repro_with_the_command_to_run(
    pipeline: tuple[RepoCopy, Path, str],
) -> None:
    repo, _, _ = pipeline
    changed = "services/ingest/ingest/land.py"
    train_pex = repo.root / "dist/services.train/train.pex"
    moved = repo.root / "dist/train.pex.moved"
    repo.append(changed, "\n# changed\n")
    try:
        stale = run_dvc(repo.root, "repro", "--force")
        assert stale.returncode == 1
        assert f"{changed} changed since it was built" in stale.stderr
        assert "run `./pants package services/ingest:ingest`" in stale.stderr
        assert "Running stage" not in stale.stdout + stale.stderr
    finally:
        repo.git("checkout", "--", changed)
    train_pex.rename(moved)
    try:
        missing = run_dvc(repo.root, "exp", "run")
        assert missing.returncode == 1
        assert "dist/services.train/train.pex is missing (a stage runs it): run " in missing.stderr
        assert "Running stage" not in missing.stdout + missing.stderr
    finally:
        moved.rename(train_pex)
    assert artifacts(repo.root, "check").returncode == 0
    assert changed_stages(repo.root) == set()
