"""Fixtures of every serve test: one BentoML home per process, emptied after each test (see
model_registry.testing), a promoted model registered there, and S3 on loopback."""

from __future__ import annotations

import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from botocore.credentials import EnvProvider  # pants: no-infer-dep (it comes with moto)
from moto.server import ThreadedMotoServer

from model_registry.store import Model, ModelStore
from model_registry.testing import bentoml_env, bentoml_home, model_store  # noqa: F401 (fixtures)
from serve.testing import register_model


@pytest.fixture
def model(tmp_path: Path, model_store: ModelStore) -> Model:  # noqa: F811 (the fixture above)
    """A registered, promoted model over the feature set, as the service gets it from the
    Bento."""
    return register_model(model_store, tmp_path / "model")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[fsspec.AbstractFileSystem]:
    """S3 on loopback (moto's server), with an empty bucket `artifacts`; the AWS SDKs in this
    process use it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # The emulator's state is per process, not per server: start each test from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    # The emulator accepts any credentials; botocore's names for the variables, throwaway values.
    monkeypatch.setenv(EnvProvider.ACCESS_KEY, "emulator")
    monkeypatch.setenv(EnvProvider.SECRET_KEY, secrets.token_hex(8))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # fsspec reuses a filesystem per set of arguments: one made for another test's server would
    # still point at it.
    fsspec.get_filesystem_class("s3").clear_instance_cache()
    try:
        filesystem = fsspec.filesystem("s3", skip_instance_cache=True)
        filesystem.makedirs("artifacts", exist_ok=True)
        yield filesystem
    finally:
        server.stop()
