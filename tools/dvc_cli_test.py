"""The repo's DVC on a small checkout, with the real DVC in this process: a command that runs
stages checks the artifacts first and does not start DVC when one is stale; other commands go
straight to DVC; a no-op repro runs no stage; the lock check reads DVC's status of an artifact
rebuilt after the last run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopback.processes import inherited_pythonpath
from tools.dvc_cli import main, stage_running_root
from tools.fake_checkout import CODE, WHEELS, make_pex


@pytest.fixture
def dvc_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(repo)
    assert main(["init", "--no-scm", "-q"]) == 0
    return repo


def runs(repo: Path) -> list[str]:
    """The stage runs the fake PEX logged."""
    log = repo / "runs.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize(
    ("argv", "runs_stages"),
    [
        (["repro"], True),
        (["-q", "repro", "train"], True),
        (["exp", "run", "-S", "train.torch.epochs=1"], True),
        # Before, the long name of `exp` ran stale artifacts unchecked.
        (["experiments", "run"], True),
        # Before, queued experiments ran whatever artifacts dist/ held when the queue started.
        (["queue", "start", "-j", "2"], True),
        (["queue", "status"], False),
        (["experiments", "show"], False),
        (["status"], False),
        (["exp", "show"], False),
        (["push"], False),
        (["metrics", "show"], False),
        ([], False),
    ],
)
def test_only_commands_that_run_stages_are_checked(
    dvc_repo: Path, argv: list[str], runs_stages: bool
) -> None:
    found = stage_running_root(argv, dvc_repo / "services")
    assert found == (dvc_repo.resolve() if runs_stages else None)


def test_the_root_follows_cd_and_is_none_outside_a_dvc_repo(
    dvc_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    assert stage_running_root(["repro", "--cd", str(dvc_repo)], outside) == dvc_repo.resolve()
    assert stage_running_root([f"--cd={dvc_repo}", "repro"], outside) == dvc_repo.resolve()
    assert stage_running_root(["repro"], outside) is None


def test_a_fresh_checkout_reproduces_then_a_no_op_runs_no_stage(
    dvc_repo: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["repro"]) == 0
    assert runs(dvc_repo) == ["land"]
    assert (dvc_repo / "data/landing/day.csv").is_file()
    assert "artifacts: 1 up to date (services/ingest:ingest)" in capfd.readouterr().err
    assert main(["repro"]) == 0
    assert runs(dvc_repo) == ["land"]
    assert "Running stage" not in "".join(capfd.readouterr())


def test_a_stale_artifact_stops_the_repro_before_any_stage(
    dvc_repo: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (dvc_repo / "libs/storage/storage/atomic.py").write_text("ATOMIC = False\n")
    assert main(["repro"]) == 1
    err = capfd.readouterr().err
    assert "libs/storage/storage/atomic.py changed since it was built" in err
    assert "run `./pants package services/ingest:ingest`" in err
    assert runs(dvc_repo) == []
    assert not (dvc_repo / "dvc.lock").exists()
    # Commands that run nothing are DVC's alone: status reports the stage that never ran.
    assert main(["status"]) == 0
    assert "land" in capfd.readouterr().out


def locked(repo: Path) -> subprocess.CompletedProcess[str]:
    """.ci/run's lock check: the repo's DVC's `status --json` piped to `artifacts.py locked`, each
    in a process of its own."""
    env = {**os.environ, "PYTHONPATH": inherited_pythonpath()}
    status = subprocess.run(
        [sys.executable, "-m", "tools.dvc_cli", "status", "--json"],
        cwd=repo, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "tools.artifacts", "locked", "--repo", str(repo)],
        input=status.stdout, env=env, capture_output=True, text=True,
    )  # fmt: skip


def test_the_lock_check_names_an_artifact_rebuilt_since_the_last_run(dvc_repo: Path) -> None:
    assert main(["repro"]) == 0
    assert locked(dvc_repo).returncode == 0
    # The code changes and its artifact is rebuilt, but the pipeline does not run again.
    code = {**CODE, "ingest/cli.py": "print('land, changed')\n"}
    (dvc_repo / "services/ingest/ingest/cli.py").write_text(code["ingest/cli.py"])
    make_pex(dvc_repo / "dist/services.ingest/ingest.pex", code, WHEELS)
    stale = locked(dvc_repo)
    assert stale.returncode == 1
    assert stale.stderr == (
        "artifacts: dvc.lock does not record dist/services.ingest/ingest.pex as this checkout "
        "builds it (modified for stage land): run the pipeline (`./pants run //:main`) and "
        "commit the dvc.lock it writes\n"
    )
    assert main(["repro"]) == 0
    assert locked(dvc_repo).returncode == 0
