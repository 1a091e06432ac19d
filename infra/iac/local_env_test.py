"""The local environment's `terraform test` suite, and its agreement with the repo's defaults."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from iac.driver import Workspace
from iac.engine import Engine


def test_the_terraform_test_suite_passes_and_leaves_nothing_behind(
    infra_copy: Path, scratch: Path, engine: Engine
) -> None:
    workspace = Workspace(
        infra_copy / "envs" / "local",
        {"build_dir": str(scratch / "build"), "dvc_remote_dir": str(scratch / "dvc-remote")},
        engine,
    )
    workspace.init()
    result = workspace.test()
    assert "0 failed" in result.stdout, result.stdout
    assert "passed" in result.stdout
    # Terraform destroyed what the suite applied, so the scratch directory is empty again.
    assert list(scratch.iterdir()) == []


def test_the_default_dvc_remote_is_the_one_in_dvc_config(
    infra_copy: Path, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # .dvc/config belongs to the pipeline (//:dvc_config, laid out in the sandbox, the cwd).
    config = configparser.ConfigParser()
    config.read_string(Path(".dvc/config").read_text())
    default_remote = config["core"]["remote"]
    url = config[f"'remote \"{default_remote}\"'"]["url"]
    # The default is under ~: a HOME of the test's own keeps the apply away from the real one.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    workspace = Workspace(infra_copy / "envs" / "local", {}, engine)
    workspace.init()
    workspace.apply()
    assert workspace.output()["dvc_remote_url"] == str(Path(url).expanduser())
    workspace.destroy()
