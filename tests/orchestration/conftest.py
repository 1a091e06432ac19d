"""Airflow for the DAG tests: a fresh AIRFLOW_HOME with SQLite metadata in a temporary
directory, set before any test module imports Airflow (pytest imports conftest.py first)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Pants lays the sources out at their repo paths under the sandbox root, the cwd.
SANDBOX_ROOT = Path.cwd()
DAG_FOLDER = SANDBOX_ROOT / "orchestration" / "dags"
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
_CREATOR_PID = os.getpid()


@atexit.register
def _remove_airflow_home() -> None:
    # It is outside the sandbox, so Pants does not remove it. Only the process that made it
    # removes it: a process Airflow forks must not delete it under the test.
    if os.getpid() == _CREATOR_PID:
        shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FOLDER),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(AIRFLOW_HOME / "logs"),
    }
)


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    """Airflow's metadata database, created (all migrations) once per test module."""
    from airflow.utils import db

    db.initdb()
    yield
