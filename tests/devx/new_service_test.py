"""`./pants run tools:new-service -- <name>` creates a service that builds, passes its gates and
tests, and ships a PEX, in a throwaway copy of the repo."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.build.repo_copy import SANDBOX_ROOT, RepoCopy

NEW_SERVICE_PEX = SANDBOX_ROOT / "tools" / "new-service.pex"


def new_service(repo: RepoCopy, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(NEW_SERVICE_PEX), *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> RepoCopy:
    repo = RepoCopy.create(tmp_path_factory.mktemp("new-service") / "repo")
    created = new_service(repo, "monitor", "--description", "Watches the served model.")
    assert created.returncode == 0, created.stderr
    return repo


def test_the_service_has_the_layout_of_the_others(repo: RepoCopy) -> None:
    service = repo.root / "services" / "monitor"
    assert {p.relative_to(service).as_posix() for p in service.rglob("*") if p.is_file()} == {
        "BUILD",
        "README.md",
        "monitor/BUILD",
        "monitor/__init__.py",
        "monitor/cli.py",
        "monitor/cli_test.py",
        "monitor/summary.py",
        "monitor/summary_test.py",
    }
    assert "__dependencies_rules__" in (service / "BUILD").read_text()
    assert (
        'service_artifact(name="monitor", entry_point="monitor.cli:main")'
        in (service / "BUILD").read_text()
    )
    assert "Watches the served model." in (service / "README.md").read_text()
    assert "/services/monitor/" in (repo.root / "CODEOWNERS").read_text()
    assert '"monitor"' in (repo.root / "ruff.toml").read_text()


def test_a_taken_or_invalid_name_is_refused(repo: RepoCopy) -> None:
    for name in ("ingest", "contracts", "Bad-Name"):
        run = new_service(repo, name)
        assert run.returncode != 0, name


def test_its_build_gates_tests_and_pex_pass_through_pants(repo: RepoCopy) -> None:
    run = repo.pants("tailor", "--check", "lint", "check", "test", "package", "services/monitor::")
    assert run.exit_code == 0, run.stdout + run.stderr
    # Both test files ran, in one pytest process: the template batches a service's tests.
    assert "services/monitor/monitor/cli_test.py:tests and 1 other files succeeded" in run.stderr

    summary = repo.root / "input.json"
    summary.write_text('{"flights": 1, "rows": 2}')
    pex = repo.root / "dist" / "services.monitor" / "monitor.pex"
    ran = subprocess.run(
        [sys.executable, str(pex), "--input", str(summary)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["keys"] == 2
