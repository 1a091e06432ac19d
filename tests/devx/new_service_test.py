"""`./pants run tools:new-service -- <name>` creates a service that builds, passes its gates and
tests, and ships a PEX, in a throwaway copy of the repo."""

from __future__ import annotations

import ast
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
    codeowners = (repo.root / "CODEOWNERS").read_text().splitlines()
    # With no --owner, the owners of the catch-all line (before, a user named platform-team).
    (catch_all,) = (line.split()[1:] for line in codeowners if line.startswith("* "))
    assert ["/services/monitor/", *catch_all] in [line.split() for line in codeowners]
    assert '"monitor"' in (repo.root / "ruff.toml").read_text()


def registry(repo: RepoCopy) -> tuple[list[str], str, str]:
    """What the tool may change: the services directory's entries, ruff.toml and CODEOWNERS."""
    root = repo.root
    services = sorted(p.name for p in (root / "services").iterdir())
    return services, (root / "ruff.toml").read_text(), (root / "CODEOWNERS").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest"], "'ingest' is already a package of the repo"),
        (["contracts"], "'contracts' is already a package of the repo"),
        # Before, a root package was taken for free, and two packages had one name.
        (["tests"], "'tests' is already a package of the repo"),
        (["iac"], "'iac' is already a package of the repo"),
        # Before, these were taken, and the service's own tests could not import it.
        (["conftest"], "'conftest' is already a package of the repo"),
        (["flight_delay_pipeline"], "'flight_delay_pipeline' is already a package of the repo"),
        (["macros"], "'macros' is already a package of the repo"),
        # Before, a traceback: its staging directory's name was too long for the filesystem.
        (["a" * 250], "'aaaaaaaaaaaaaaaaaaaa'... is longer than 64 characters"),
        (["Bad-Name"], "'Bad-Name' is not a lowercase Python identifier"),
        # Before, each below made a service that could not be imported, hid a module or gave
        # CODEOWNERS a line it cannot read.
        (["class"], "'class' is a Python keyword"),
        (["json"], "'json' is a module of Python's standard library"),
        (["torch"], "'torch' is the module of torch, which the services' lockfile holds"),
        (["yaml"], "'yaml' is the module of pyyaml, which the services' lockfile holds"),
        (["requests"], "'requests' is the module of requests, which the services' lockfile"),
        # Before, accepted: modules named otherwise than their distribution, which the service
        # then hid (a service named dateutil broke pandas' import).
        (["dateutil"], "'dateutil' is the module of python-dateutil, which the services' lockfile"),
        (["zmq"], "'zmq' is the module of pyzmq, which the services' lockfile holds"),
        # Before, accepted: ruff refused the package's docstring (RUF002).
        (["notes", "--description", "Scores flights \N{EN DASH} quickly"], "EN DASH (U+2013)"),
        (["notes", "--description", " "], "--description is empty"),
        (["notes", "--description", "two\nlines"], "is not one line of printable text"),
        (["notes", "--owner", "platform team"], "--owner 'platform team' is not CODEOWNERS owners"),
    ],
)
def test_a_bad_name_description_or_owner_is_refused_and_changes_nothing(
    repo: RepoCopy, args: list[str], message: str
) -> None:
    before = registry(repo)
    run = new_service(repo, *args)
    assert run.returncode == 1
    # Its last line: the test's environment makes the PEX warn first.
    error = run.stderr.splitlines()[-1]
    assert error.startswith("new-service: ") and message in error, run.stderr
    assert registry(repo) == before


def test_with_no_catch_all_owner_an_owner_must_be_given(repo: RepoCopy) -> None:
    codeowners = repo.root / "CODEOWNERS"
    kept = codeowners.read_text()
    codeowners.write_text("".join(x for x in kept.splitlines(True) if not x.startswith("* ")))
    try:
        before = registry(repo)
        run = new_service(repo, "notes")
        assert run.returncode == 1
        assert run.stderr.splitlines()[-1] == (
            "new-service: CODEOWNERS has no catch-all `*` line to take the owner from: give --owner"
        )
        assert registry(repo) == before
    finally:
        codeowners.write_text(kept)


def test_any_one_line_description_becomes_the_package_docstring(repo: RepoCopy) -> None:
    # Before, a quote at its end or a backslash made the package a syntax error.
    description = 'Says "hi" \\ in C:\\new\\, ends in a quote"'
    owners = "@org/notes-team notes@example.com"
    created = new_service(repo, "notes", "--description", description, "--owner", owners)
    assert created.returncode == 0, created.stderr
    package = repo.root / "services" / "notes" / "notes" / "__init__.py"
    module = ast.parse(package.read_text())
    assert ast.get_docstring(module, clean=False) == description
    assert "/services/notes/" in (repo.root / "CODEOWNERS").read_text()
    assert (repo.root / "CODEOWNERS").read_text().count(owners) == 1


def test_a_long_name_and_description_pass_the_build_file_and_lint_gates(repo: RepoCopy) -> None:
    # Before, from 20 characters on the name made a BUILD line Black reformats (so
    # `update-build-files --check` failed, as CI runs it), and a description of over 94
    # characters a docstring line ruff refused (E501).
    name = "flight_delay_monitor_of_the_served_model"
    description = "Watches the delays the served model predicts against those flown. " * 3
    created = new_service(repo, name, "--description", description)
    assert created.returncode == 0, created.stderr
    run = repo.pants(
        "tailor", "--check", "update-build-files", "--check", "lint", f"services/{name}::"
    )
    assert run.exit_code == 0, run.stdout + run.stderr


def test_its_build_gates_tests_and_pex_pass_through_pants(repo: RepoCopy) -> None:
    run = repo.pants(
        "tailor",
        "--check",
        "update-build-files",
        "--check",
        "lint",
        "check",
        "test",
        "package",
        "services/monitor::",
    )
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
