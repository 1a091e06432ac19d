"""One small real pipeline output and one registered model for every serving test module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from model_registry.store import REGISTERED, open_store
from tests.serving.harness import build_data, register_model


@dataclass(frozen=True)
class World:
    curated: Path
    features: Path
    store: Path
    home: Path
    tag: str


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("serving")
    curated, features, store = build_data(root)
    home = root / "bentoml"
    models = open_store(home)
    # Served: the newest promoted model, not an older promoted one nor a newer unpromoted one.
    register_model(features, models, root / "older")
    tag = register_model(features, models, root / "served")
    register_model(features, models, root / "newer", stage=REGISTERED)
    return World(curated, features, store, home, tag)
