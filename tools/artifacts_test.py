"""The artifact check and placement on small packed PEXes made here: what is fresh, what is
missing or stale and the command each message names, and what placing replaces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools.artifacts import ArtifactError, artifacts_in, check_all, main, place

DVC_YAML = """stages:
  land:
    cmd: dist/services.ingest/ingest.pex/__main__.py land
    deps:
      - dist/artifacts.checked
      - dist/services.ingest/ingest.pex
      - data/x
"""
LOCK = {"locked_resolves": [{"locked_requirements": [
    {"project_name": "PyYAML", "version": "6.0.2"},
]}]}  # fmt: skip


def make_pex(pex: Path, code: dict[str, str], wheels: list[str]) -> None:
    for relative, text in code.items():
        (pex / relative).parent.mkdir(parents=True, exist_ok=True)
        (pex / relative).write_text(text)
    (pex / ".deps").mkdir(parents=True, exist_ok=True)
    (pex / "__main__.py").write_text("# pex's own\n")
    (pex / "PEX-INFO").write_text(json.dumps({"distributions": {w: "x" for w in wheels}}))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    (tmp_path / "pants.toml").write_text('[source]\nroot_patterns = ["/services/*", "/libs/*"]\n')
    (tmp_path / "3rdparty/python").mkdir(parents=True)
    (tmp_path / "3rdparty/python/default.lock").write_text("// header\n" + json.dumps(LOCK))
    code = {"ingest/cli.py": "print('land')\n", "storage/atomic.py": "ATOMIC = True\n"}
    for relative, text in code.items():
        root = "services/ingest" if relative.startswith("ingest") else "libs/storage"
        (tmp_path / root / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / root / relative).write_text(text)
    make_pex(tmp_path / "dist/services.ingest/ingest.pex", code,
             ["PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl"])  # fmt: skip
    return tmp_path


def test_the_artifacts_are_those_dvc_yaml_runs() -> None:
    (artifact,) = artifacts_in(DVC_YAML)
    assert artifact.address == "services/ingest:ingest"
    assert artifact.package_command == "./pants package services/ingest:ingest"


def test_fresh_artifacts_pass_and_write_the_stamp(repo: Path) -> None:
    assert [a.address for a in check_all(repo)] == ["services/ingest:ingest"]
    stamp = repo / "dist/artifacts.checked"
    assert main(["check", "--repo", str(repo), "--stamp", str(stamp)]) == 0
    first = stamp.read_bytes()
    assert main(["check", "--repo", str(repo), "--stamp", str(stamp)]) == 0
    assert stamp.read_bytes() == first  # the stages after it never re-run because it ran


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
    stamp = repo / "dist/artifacts.checked"
    assert main(["check", "--repo", str(repo), "--stamp", str(stamp)]) == 1
    assert message in capsys.readouterr().err
    assert not stamp.exists()


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
    with pytest.raises(ArtifactError, match="did not build services/ingest:ingest.*//:main"):
        place(repo, tmp_path / "empty")
