"""`configure` hands the local environment's outputs to DVC and to the services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from iac.configure import configure
from iac.driver import Workspace


def test_configure_writes_the_dvc_remote_and_the_environment_file(
    infra_copy: Path, scratch: Path
) -> None:
    repo = infra_copy.parent
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text(
        "[core]\n    remote = local\n['remote \"local\"']\n    url = ~/.cache/x\n"
    )
    workspace = Workspace(
        infra_copy / "envs" / "local",
        {"build_dir": str(scratch / "build"), "dvc_remote_dir": str(scratch / "dvc-remote")},
    )
    workspace.init()
    workspace.apply()

    outputs = configure(repo, "local")

    # DVC itself reads the result: the default remote is the environment's.
    code = (
        "import sys; from dvc.config import Config; "
        "c = Config(sys.argv[1]); r = c['core']['remote']; print(r, c['remote'][r]['url'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(repo / ".dvc")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["platform", str(scratch / "dvc-remote")]

    env_file = (repo / "build" / "infra" / "local" / "platform.env").read_text()
    assert f"BENTOML_HOME={outputs['model_store_url']}\n" in env_file
    assert f"PLATFORM_LANDING_URL={outputs['landing_url']}\n" in env_file
    workspace.destroy()
