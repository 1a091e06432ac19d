"""The repo's DVC on a small checkout, with the real DVC in this process: a command that runs
stages checks the artifacts first and does not start DVC when one is stale; other commands go
straight to DVC; a no-op repro runs no stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.dvc_cli import main, stage_running_root


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
