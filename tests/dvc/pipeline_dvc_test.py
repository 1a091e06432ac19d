"""The DVC pipeline for real, in a throwaway copy of the repo: each stage runs its service's
built artifact (packaged by Pants for this test), from landing to trained, evaluated and
registered models; `dvc metrics show` and `dvc plots show` read the evaluation; a second
`dvc repro` checks the artifacts and runs no stage; `dvc push` then `dvc pull` into a fresh clone
gives identical hashes; `dvc exp run -S train...` with `dvc metrics diff` compares a variant.
Then, as a test of the build (artifacts rebuilt with `./pants package` in the copy): a stale
artifact stops the repro with the command to run; a change to one service's code changes
exactly its stages, a lib change exactly the stages of the services that import it, and a
comment in an unrelated file nothing, because the PEXes are rebuilt byte for byte."""

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

# `runtime_package_dependencies` puts the packaged DVC CLI and the services' artifacts at the
# sandbox root, the cwd, laid out as under dist/.
SANDBOX_ROOT = Path.cwd()
DVC = SANDBOX_ROOT / "dvc.pex"
STAGE_OUTPUTS = (
    "data/landing",
    "data/curated",
    "data/features",
    "data/models",
    "data/evaluation",
)
# Three days keep the test short; the split dates give every split some rows. Each value replaces
# the one at its key in the repo's params.yaml; the others stay.
SLICE_PARAMS: dict[str, dict[str, Any]] = {
    "land": {"start": "2013-01-01", "end": "2013-01-03"},
    "features": {
        "split": {"train_end": "2013-01-01", "validation_end": "2013-01-02"},
        "window_days": 7,
    },
    # Not params.yaml's value, so the test sees this one reach stats.json.
    "monitor": {"psi_threshold": 0.35},
    # Small models: the test checks the pipeline, not their quality.
    "train": {
        "torch": {"epochs": 2, "batch_size": 256, "hidden": [16]},
        "baseline": {"max_iter": 20},
    },
}


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in changes.items():
        nested = isinstance(value, dict) and isinstance(base.get(key), dict)
        result[key] = merged(base[key], value) if nested else value
    return result


def run_dvc(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The test runner's PEX variables would leak into dvc.pex and the PEXes its stages run.
    env = {k: v for k, v in os.environ.items() if not k.lstrip("_").startswith("PEX")}
    return subprocess.run(
        [str(DVC), *args],
        cwd=repo,
        env={**env, **GIT_IDENTITY, "PANTS_DYNAMIC_UI": "false"},
        capture_output=True,
        text=True,
        timeout=900,
    )


def dvc(repo: Path, *args: str, with_stderr: bool = False) -> str:
    """DVC's stdout (and stderr, where the stages report, if asked); fails the test with DVC's
    output if it exits non-zero."""
    result = run_dvc(repo, *args)
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr if with_stderr else result.stdout


def artifacts(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["python3", "tools/artifacts.py", *args], cwd=repo, capture_output=True, text=True
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
    repo = RepoCopy.create(base / "repo")
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    repo.write("params.yaml", yaml.safe_dump(merged(params, SLICE_PARAMS), sort_keys=False))
    repo.commit("test slice")
    remote = base / "remote"
    dvc(repo.root, "remote", "modify", "--local", "local", "url", str(remote))
    artifacts(repo.root, "place", "--built", str(SANDBOX_ROOT))
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
    # The features stage carries params' drift threshold into the statistics serve reads.
    stats = json.loads((repo.root / "data/features/stats.json").read_text())
    assert stats["psi_threshold"] == SLICE_PARAMS["monitor"]["psi_threshold"]
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


def changed_stages(repo: RepoCopy) -> set[str]:
    """The stages `dvc status` reports."""
    return set(json.loads(dvc(repo.root, "status", "--json")))


def package(repo: RepoCopy) -> None:
    built = repo.pants("package", "services/ingest:ingest", "services/feature:feature",
                       "services/train:train")  # fmt: skip
    assert built.exit_code == 0, built.stderr[-3000:]


@pytest.fixture(scope="module")
def rebuilt(pipeline: tuple[RepoCopy, Path, str]) -> RepoCopy:
    """The copy after its whole pipeline ran, with its artifacts rebuilt by its own Pants."""
    repo, _, _ = pipeline
    repo.commit("the pipeline's outputs")
    package(repo)
    return repo


def test_an_artifact_built_from_the_same_code_is_the_same_bytes(rebuilt: RepoCopy) -> None:
    assert changed_stages(rebuilt) == set()


def test_a_stale_artifact_stops_the_repro_with_the_command_to_run(rebuilt: RepoCopy) -> None:
    rebuilt.append("services/ingest/ingest/land.py", "\n# changed\n")
    stale = run_dvc(rebuilt.root, "repro", "--force")
    assert stale.returncode == 1
    assert "services/ingest/ingest/land.py changed since it was built" in stale.stderr
    assert "run `./pants package services/ingest:ingest`" in stale.stderr
    assert "Running stage" not in stale.stdout + stale.stderr
    (rebuilt.root / "dist/services.train/train.pex/PEX-INFO").rename(
        rebuilt.root / "dist/PEX-INFO.moved"
    )
    missing = run_dvc(rebuilt.root, "exp", "run")
    assert missing.returncode == 1
    assert "dist/services.train/train.pex is missing (a stage runs it): run " in missing.stderr
    (rebuilt.root / "dist/PEX-INFO.moved").rename(
        rebuilt.root / "dist/services.train/train.pex/PEX-INFO"
    )
    rebuilt.git("checkout", "--", "services/ingest/ingest/land.py")
    assert artifacts(rebuilt.root, "check").returncode == 0


@pytest.mark.parametrize(
    ("changed_file", "stages"),
    [
        # One service: exactly its stages.
        ("services/ingest/ingest/curate.py", {"land", "ingest"}),
        # A lib: the stages of the services that import it (feature and train, not ingest).
        (
            "libs/feature_definitions/feature_definitions/calendar.py",
            {"features", "online_store", "train", "evaluate"},
        ),
        # A comment in a file no stage's service uses: nothing.
        ("services/serve/serve/drift.py", set()),
    ],
)
def test_a_change_reruns_exactly_the_stages_whose_artifact_it_changes(
    rebuilt: RepoCopy, changed_file: str, stages: set[str]
) -> None:
    rebuilt.append(changed_file, "\n# a one-line change\n")
    try:
        package(rebuilt)
        assert changed_stages(rebuilt) == stages
    finally:
        rebuilt.git("checkout", "--", changed_file)
        package(rebuilt)
