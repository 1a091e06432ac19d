"""The Bento: `serve.bento.build` packs the service, its libs and the promoted model; serving the
built Bento answers predictions; the generated Dockerfile (the `bentoml containerize` path) is
there with the pinned requirements."""

from __future__ import annotations

import sys

import pytest

from serve.bento import build
from serve.smoke import EXAMPLE, smoke
from tests.serving.conftest import World
from tests.serving.harness import (
    ONE_WORKER,
    as_request,
    request_flights,
    server_env,
    third_party_path,
)


def test_the_built_bento_serves_predictions(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENTOML_HOME", str(world.home))
    tag = build()
    name, version = tag.split(":")
    bento = world.home / "bentos" / name / version
    assert (bento / "src" / "serve" / "service.py").is_file()
    assert not list((bento / "src").rglob("*_test.py"))
    dockerfile = (bento / "env" / "docker" / "Dockerfile").read_text()
    # The image's Python is the one the packages were pinned from (this test's, pants.toml's).
    assert f"FROM python:{sys.version_info.major}.{sys.version_info.minor}-" in dockerfile
    requirements = (bento / "env" / "python" / "requirements.txt").read_text()
    assert "bentoml==" in requirements and "scikit-learn==" in requirements
    # On AWS the serving data is at an s3:// location, which fsspec reads through s3fs.
    assert "s3fs==" in requirements

    env = {**server_env(world.home, world.features.parent), **ONE_WORKER}
    env["PYTHONPATH"] = third_party_path()
    flights = as_request(request_flights(world.features, world.curated).iloc[:5])
    # With the example the main job's smoke run sends: it is valid against the Bento too.
    answer = smoke(tag, env, flights=[*flights, EXAMPLE])
    assert answer["model"] == world.tag
    assert len(answer["predictions"]) == 6
