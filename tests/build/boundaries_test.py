"""Services may depend on libs, never on each other's code; libs never on services.
Both kinds of violation fail `./pants lint`, which names the file and the dependency."""

from pathlib import Path

from tests.build.repo_copy import RepoCopy


def test_cross_service_and_lib_to_service_imports_fail_lint(tmp_path: Path) -> None:
    repo = RepoCopy.create(tmp_path / "repo")
    repo.write(
        "services/feature/feature/shortcut.py",
        "from ingest.curate import curate_files\n\nSHORTCUT = curate_files\n",
    )
    repo.write(
        "libs/storage/storage/upward.py",
        "from train.device import select_device\n\nDEVICE = select_device\n",
    )
    # A service using a lib stays allowed: this file must not be reported.
    repo.write(
        "services/serve/serve/allowed.py",
        "from contracts.flights import NATURAL_KEY\n\nKEY = NATURAL_KEY\n",
    )

    run = repo.pants("lint", "--only=visibility-lint", "services::", "libs::")

    output = run.stdout + run.stderr
    assert run.exit_code != 0
    assert "services/feature/feature/shortcut.py has 1 dependency violation" in output
    assert "services/ingest/ingest/curate.py" in output
    assert "libs/storage/storage/upward.py has 1 dependency violation" in output
    assert "services/train/train/device.py" in output
    assert "allowed.py" not in output
