"""Airflow for the DAG tests: a fresh AIRFLOW_HOME with SQLite metadata in a temporary
directory, set before any test module imports Airflow (pytest imports conftest.py first)."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Pants lays the sources out at their repo paths under the sandbox root, the cwd.
SANDBOX_ROOT = Path.cwd()
DAG_FOLDER = SANDBOX_ROOT / "orchestration" / "dags"
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
# Where a test target's runtime_package_dependencies put tests:aws_emulator (moto is not in the
# airflow resolve, so the emulator runs as a process of its own).
EMULATOR = SANDBOX_ROOT / "tests" / "aws_emulator.pex"
EMULATOR_REGION = "us-east-1"
# What moto accepts from anyone; not a secret.
DUMMY_KEY = "testing"
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


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An emulated AWS account on loopback (moto); Airflow's default AWS connection points at
    it. Its URL."""
    # Imported here: Airflow must not be imported before the environment above is set.
    from flight_orchestration.pipeline import clean_environment
    from loopback.processes import stop

    server = subprocess.Popen(
        [sys.executable, str(EMULATOR)], stdout=subprocess.PIPE, text=True, env=clean_environment()
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"the emulator did not start: {url!r}"
        connection = {
            "conn_type": "aws",
            "login": DUMMY_KEY,
            "password": DUMMY_KEY,
            "extra": {"region_name": EMULATOR_REGION, "endpoint_url": url},
        }
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
        yield url
    finally:
        stop(server)
