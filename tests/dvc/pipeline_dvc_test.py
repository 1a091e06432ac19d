"""The DVC pipeline for real, in a throwaway copy of the repo: each stage runs its service
through Pants, from landing to trained, evaluated and registered models; `dvc metrics show`
and `dvc plots show` read the evaluation; a second `dvc repro` runs nothing; `dvc push` then
`dvc pull` into a fresh clone gives identical hashes; a lib change re-runs only the stages whose
services use it; and `dvc exp run -S train...` with `dvc metrics diff` compares a variant."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.build.repo_copy import GIT_IDENTITY, RepoCopy

# `runtime_package_dependencies` puts the packaged DVC CLI at the sandbox root, the cwd.
DVC = Path.cwd() / "dvc.pex"
STAGE_OUTPUTS = (
    "data/landing",
    "data/curated",
    "data/features",
    "data/models",
    "data/evaluation",
)
# Three days keep the test short; the split dates give every split some rows. Groups replace
# the keys they name in the repo's params.yaml.
SLICE_PARAMS: dict[str, dict[str, Any]] = {
    "land": {"start": "2013-01-01", "end": "2013-01-03"},
    "features": {
        "split": {"train_end": "2013-01-01", "validation_end": "2013-01-02"},
        "window_days": 7,
    },
    # Small models: the test checks the pipeline, not their quality.
    "train": {
        "torch": {"epochs": 2, "batch_size": 256, "hidden": [16]},
        "baseline": {"max_iter": 20},
    },
}


def dvc(repo: Path, *args: str, with_stderr: bool = False) -> str:
    """DVC's stdout (and stderr, where the stages report, if asked); fails the test with DVC's
    output if it exits non-zero."""
    # The test runner's PEX variables would leak into dvc.pex and the PEXes its stages run.
    env = {k: v for k, v in os.environ.items() if not k.lstrip("_").startswith("PEX")}
    result = subprocess.run(
        [str(DVC), *args],
        cwd=repo,
        env={**env, **GIT_IDENTITY, "PANTS_DYNAMIC_UI": "false"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr if with_stderr else result.stdout


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
    repo = RepoCopy.create(base / "repo")
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    for group, values in SLICE_PARAMS.items():
        params[group] = {**params[group], **values}
    repo.write("params.yaml", yaml.safe_dump(params, sort_keys=False))
    repo.commit("test slice")
    remote = base / "remote"
    dvc(repo.root, "remote", "modify", "--local", "local", "url", str(remote))
    first = dvc(repo.root, "repro", with_stderr=True)
    return repo, remote, first


def test_repro_runs_every_stage_and_writes_the_outputs(
    pipeline: tuple[RepoCopy, Path, str],
) -> None:
    repo, _, first = pipeline
    for stage in ("land", "ingest", "features", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first
    landed = sorted(p.name for p in (repo.root / "data/landing/flights").iterdir())
    assert landed == ["2013-01-01.csv", "2013-01-02.csv", "2013-01-03.csv"]
    assert (repo.root / "data/curated/flights/2013-01.parquet").is_file()
    summary = json.loads((repo.root / "data/features/summary.json").read_text())
    assert all(summary["rows_per_split"][split] > 0 for split in ("train", "validation", "test"))
    # DVC, not git, holds the data.
    ignored = (repo.root / "data/.gitignore").read_text().split()
    assert {"/landing", "/curated", "/features", "/models"} <= set(ignored)
    ignored = (repo.root / "data/evaluation/.gitignore").read_text().split()
    assert set(ignored) == {"/metrics.json", "/plots"}
    # The registration record is per machine: git ignores it and DVC does not track it.
    repo.git("check-ignore", "data/evaluation/registry.json")


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


def test_a_second_repro_runs_nothing(pipeline: tuple[RepoCopy, Path, str]) -> None:
    repo, _, _ = pipeline
    again = dvc(repo.root, "repro")
    assert "Running stage" not in again
    assert "up to date" in again


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
    assert json.loads(dvc(clone, "status", "--json")) == {}


def test_a_lib_change_marks_only_the_stages_whose_service_uses_it(
    pipeline: tuple[RepoCopy, Path, str],
) -> None:
    repo, _, _ = pipeline
    # The feature and train services use feature_definitions; ingest does not.
    repo.append("libs/feature_definitions/feature_definitions/calendar.py", "\n# changed\n")
    status = json.loads(dvc(repo.root, "status", "--json"))
    assert set(status) == {"features", "online_store", "train", "evaluate"}
    changed = status["features"][0]["changed deps"]
    assert changed == {"libs/feature_definitions/feature_definitions/calendar.py": "modified"}
    repo.git("checkout", "--", "libs/feature_definitions/feature_definitions/calendar.py")
    # Only the train service uses model_registry (serve is not a pipeline stage).
    repo.append("libs/model_registry/model_registry/network.py", "\n# changed\n")
    status = json.loads(dvc(repo.root, "status", "--json"))
    assert set(status) == {"train", "evaluate"}
    repo.git("checkout", "--", "libs/model_registry/model_registry/network.py")


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
