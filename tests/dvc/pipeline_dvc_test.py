"""The DVC pipeline for real, in a throwaway copy of the repo: each stage runs its service
through Pants, a second `dvc repro` runs nothing, `dvc push` then `dvc pull` into a fresh clone
gives identical hashes, and a lib change re-runs only the stages whose services use it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.build.repo_copy import GIT_IDENTITY, RepoCopy

# `runtime_package_dependencies` puts the packaged DVC CLI at the sandbox root, the cwd.
DVC = Path.cwd() / "dvc.pex"
STAGE_OUTPUTS = ("data/landing", "data/curated", "data/features")
# Three days keep the test short; the split dates give every split some rows.
SLICE_PARAMS = {
    "land": {"start": "2013-01-01", "end": "2013-01-03"},
    "features": {
        "split": {"train_end": "2013-01-01", "validation_end": "2013-01-02"},
        "window_days": 7,
    },
}


def dvc(repo: Path, *args: str) -> str:
    """DVC's stdout; fails the test with DVC's output if it exits non-zero."""
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
    return result.stdout


def file_hashes(repo: Path) -> dict[str, str]:
    hashes = {}
    for output in STAGE_OUTPUTS:
        for path in sorted((repo / output).rglob("*")):
            if path.is_file():
                hashes[str(path.relative_to(repo))] = hashlib.md5(path.read_bytes()).hexdigest()
    return hashes


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[RepoCopy, Path, str]:
    """A repo copy on the test slice, reproduced once; its remote; the first repro's output."""
    base = tmp_path_factory.mktemp("dvc")
    repo = RepoCopy.create(base / "repo")
    repo.write("params.yaml", yaml.safe_dump(SLICE_PARAMS, sort_keys=False))
    repo.commit("test slice")
    remote = base / "remote"
    dvc(repo.root, "remote", "modify", "--local", "local", "url", str(remote))
    first = dvc(repo.root, "repro")
    return repo, remote, first


def test_repro_runs_every_stage_and_writes_the_outputs(pipeline: tuple[RepoCopy, Path, str]) -> None:
    repo, _, first = pipeline
    for stage in ("land", "ingest", "features"):
        assert f"Running stage '{stage}'" in first
    landed = sorted(p.name for p in (repo.root / "data/landing/flights").iterdir())
    assert landed == ["2013-01-01.csv", "2013-01-02.csv", "2013-01-03.csv"]
    assert (repo.root / "data/curated/flights/2013-01.parquet").is_file()
    summary = json.loads((repo.root / "data/features/summary.json").read_text())
    assert all(summary["rows_per_split"][split] > 0 for split in ("train", "validation", "test"))
    # DVC, not git, holds the data.
    ignored = (repo.root / "data/.gitignore").read_text().split()
    assert {"/landing", "/curated", "/features"} <= set(ignored)


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
    # Only the feature service uses feature_definitions; ingest does not.
    repo.append("libs/feature_definitions/feature_definitions/calendar.py", "\n# changed\n")
    status = json.loads(dvc(repo.root, "status", "--json"))
    assert set(status) == {"features"}
    changed = status["features"][0]["changed deps"]
    assert changed == {"libs/feature_definitions/feature_definitions/calendar.py": "modified"}
