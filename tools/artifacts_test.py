"""The artifact check and placement on small packed PEXes made here: what is fresh, what is
missing or stale and the command each message names, and what placing replaces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools.artifacts import ArtifactError, artifacts_in, check_all, main, place
from tools.fake_checkout import DVC_YAML


def test_the_artifacts_are_those_dvc_yaml_runs() -> None:
    (artifact,) = artifacts_in(DVC_YAML)
    assert artifact.address == "services/ingest:ingest"
    assert artifact.package_command == "./pants package services/ingest:ingest"


def test_fresh_artifacts_pass(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [a.address for a in check_all(repo)] == ["services/ingest:ingest"]
    assert main(["check", "--repo", str(repo)]) == 0
    assert capsys.readouterr().out == "artifacts: 1 up to date (services/ingest:ingest)\n"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("edit a lib file", "libs/storage/storage/atomic.py changed since it was built"),
        ("delete a service file", "carries ingest/cli.py, which the checkout no longer has"),
        ("relock", "carries pyyaml==6.0.2, which 3rdparty/python/default.lock no longer locks"),
        ("remove the pex", "dist/services.ingest/ingest.pex is missing (a stage runs it)"),
    ],
)
def test_a_stale_or_missing_artifact_names_the_package_command(
    repo: Path, damage: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if damage == "edit a lib file":
        (repo / "libs/storage/storage/atomic.py").write_text("ATOMIC = False\n")
    elif damage == "delete a service file":
        (repo / "services/ingest/ingest/cli.py").unlink()
    elif damage == "relock":
        lock = json.dumps({"locked_resolves": [{"locked_requirements": [
            {"project_name": "pyyaml", "version": "6.0.3"}]}]})  # fmt: skip
        (repo / "3rdparty/python/default.lock").write_text(lock)
    else:
        shutil.rmtree(repo / "dist/services.ingest/ingest.pex")
    with pytest.raises(ArtifactError, match="run `./pants package services/ingest:ingest`"):
        check_all(repo)
    assert main(["check", "--repo", str(repo)]) == 1
    assert message in capsys.readouterr().err


def test_place_copies_what_changed_and_leaves_the_rest(repo: Path, tmp_path: Path) -> None:
    built = tmp_path / "built"
    shutil.copytree(repo / "dist", built)
    target = repo / "dist/services.ingest/ingest.pex"
    marker = target / "ingest/left-alone"
    marker.write_text("same PEX-INFO: not copied again")
    place(repo, built)
    assert marker.is_file()
    info = built / "services.ingest/ingest.pex/PEX-INFO"
    info.write_text(json.dumps({"distributions": {}, "code_hash": "new"}))
    place(repo, built)
    assert not marker.exists()
    assert (target / "PEX-INFO").read_text() == info.read_text()
    assert not list(target.parent.glob("*.partial"))


def test_place_names_an_artifact_the_run_did_not_build(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(
        ArtifactError, match="did not build services/ingest:ingest.*PIPELINE_ARTIFACTS"
    ):
        place(repo, tmp_path / "empty")
