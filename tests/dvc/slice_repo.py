"""A throwaway copy of the repo set to a three-day slice of the pipeline, and the repo's DVC run
in it: what the pipeline's tests share.

Both tests that use it get the packaged DVC CLI (`//:dvc`) at the sandbox root, their cwd,
through `runtime_package_dependencies`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.build.repo_copy import RepoCopy
from tests.git_identity import GIT_IDENTITY

DVC = Path.cwd() / "dvc.pex"
# Three days keep the tests short; the split dates give every split some rows. Each value replaces
# the one at its key in the repo's params.yaml; the others stay.
SLICE_PARAMS: dict[str, dict[str, Any]] = {
    "land": {"start": "2013-01-01", "end": "2013-01-03"},
    "features": {
        "split": {"train_end": "2013-01-01", "validation_end": "2013-01-02"},
        "window_days": 7,
    },
    # Not params.yaml's value, so a test sees this one reach stats.json.
    "monitor": {"psi_threshold": 0.35},
    # Small models: the tests check the pipeline, not their quality.
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


def sliced(repo: RepoCopy) -> RepoCopy:
    """`repo` with its params.yaml set to the slice, committed."""
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    repo.write("params.yaml", yaml.safe_dump(merged(params, SLICE_PARAMS), sort_keys=False))
    repo.commit("test slice")
    return repo


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


def changed_stages(repo: Path) -> set[str]:
    """The stages `dvc status` reports."""
    return set(json.loads(dvc(repo, "status", "--json")))


def artifacts(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """tools/artifacts.py in the copy (`check`, or `place --built DIR`)."""
    return subprocess.run(
        ["python3", "tools/artifacts.py", *args], cwd=repo, capture_output=True, text=True
    )
