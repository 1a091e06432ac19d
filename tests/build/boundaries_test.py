"""Services may depend on libs, never on each other's code: a cross-service import fails lint."""

from pathlib import Path

import pytest

from tests.build.repo_copy import RepoCopy


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> RepoCopy:
    return RepoCopy.create(tmp_path_factory.mktemp("boundaries") / "repo")


def test_the_repo_as_committed_passes_the_visibility_lint(repo: RepoCopy) -> None:
    run = repo.pants("lint", "--only=visibility-lint", "::")
    assert run.exit_code == 0, run.stderr


def test_a_service_importing_another_service_fails_lint(repo: RepoCopy) -> None:
    repo.write(
        "services/feature/feature/shortcut.py",
        "from ingest.curate import curate_files\n\nSHORTCUT = curate_files\n",
    )
    run = repo.pants("lint", "--only=visibility-lint", "services/feature::")
    assert run.exit_code != 0
    output = run.stdout + run.stderr
    assert "services/feature/feature/shortcut.py" in output
    assert "services/ingest/ingest/curate.py" in output
    assert "DENY" in output


def test_a_lib_importing_a_service_fails_lint(repo: RepoCopy, tmp_path: Path) -> None:
    repo.write(
        "libs/storage/storage/upward.py",
        "from train.device import select_device\n\nDEVICE = select_device\n",
    )
    run = repo.pants("lint", "--only=visibility-lint", "libs/storage::")
    assert run.exit_code != 0
    assert "services/train/train/device.py" in run.stdout + run.stderr
