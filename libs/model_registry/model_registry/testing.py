"""Test support for code that uses the model store: each test gets a BentoML home of its own.

Import the fixture where the tests are collected (a conftest.py, or the test module):

    from model_registry.testing import bentoml_env  # noqa: F401 (an autouse fixture)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model_registry.store import DO_NOT_TRACK_ENV, HOME_ENV


@pytest.fixture(autouse=True)
def bentoml_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BentoML's own configuration points at the test's directory, never the user's home, and
    sends nothing anywhere."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "global"))
    monkeypatch.setenv(DO_NOT_TRACK_ENV, "true")
