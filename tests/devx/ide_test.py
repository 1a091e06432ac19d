"""./tools/ide gives an editor a virtualenv with the locked packages and the repo's own code."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.build.repo_copy import RepoCopy


def test_one_command_makes_a_venv_that_imports_services_libs_and_third_party(
    tmp_path: Path,
) -> None:
    repo = RepoCopy.create(tmp_path / "repo")
    made = subprocess.run(
        ["./tools/ide"],
        cwd=repo.root,
        env={**os.environ, "PANTS_PANTSD": "false", "PANTS_DYNAMIC_UI": "false"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Editor and notebook interpreter: .venv/bin/python" in made.stdout

    imports = "import ingest.cli, contracts, feature_definitions, storage, pandas, sklearn, yaml"
    python = repo.root / ".venv" / "bin" / "python"
    ran = subprocess.run(
        [str(python), "-c", f"{imports}; print(ingest.cli.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == str(repo.root / "services/ingest/ingest/cli.py")
    # The venv stays out of git.
    assert ".venv" not in repo.git("status", "--porcelain")
