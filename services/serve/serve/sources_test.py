"""The serving data from a directory or from S3 (a real S3 API: moto's server on loopback),
with a bounded wait and errors that name what is missing and where."""

from __future__ import annotations

import secrets
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from botocore.credentials import EnvProvider  # pants: no-infer-dep (it comes with moto)
from moto.server import ThreadedMotoServer

from serve.sources import (
    ONLINE_STORE,
    STATS,
    ServingDataError,
    fetch,
    location,
    wait_seconds,
)


def write_data(root: Path) -> None:
    for name, data in ((ONLINE_STORE, b"SQLite format 3\x00..."), (STATS, b'{"features": {}}')):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def test_a_directory_is_read_in_place(tmp_path: Path) -> None:
    write_data(tmp_path)
    data = fetch(str(tmp_path), wait=0)
    assert data.online_store == tmp_path / ONLINE_STORE
    assert data.stats == tmp_path / STATS


def test_the_wait_is_bounded_and_the_error_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / STATS).parent.mkdir(parents=True)
    (tmp_path / STATS).write_text("{}")
    with pytest.raises(ServingDataError, match=f"{ONLINE_STORE} not found under {tmp_path}"):
        fetch(str(tmp_path), wait=0.6)


def test_a_file_that_appears_while_waiting_is_taken(tmp_path: Path) -> None:
    messages: list[str] = []
    timer = threading.Timer(0.7, write_data, (tmp_path,))
    timer.start()
    try:
        data = fetch(str(tmp_path), wait=30, log=messages.append)
    finally:
        timer.cancel()
    assert data.stats.read_bytes() == b'{"features": {}}'
    assert len(messages) == 1 and "waiting up to 30 s" in messages[0]


def test_settings_default_to_the_repo_data_and_reject_a_bad_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pants.toml").write_text("")
    (tmp_path / "services").mkdir()
    monkeypatch.chdir(tmp_path / "services")
    assert location({}) == str(tmp_path / "data")
    assert location({"FLIGHT_DELAY_SERVING_DATA": "s3://b/serving"}) == "s3://b/serving"
    assert wait_seconds({}) == 600
    assert wait_seconds({"FLIGHT_DELAY_SERVING_WAIT_SECONDS": "2.5"}) == 2.5
    for bad in ("soon", "-1", "inf", "nan"):
        with pytest.raises(ServingDataError, match="FLIGHT_DELAY_SERVING_WAIT_SECONDS"):
            wait_seconds({"FLIGHT_DELAY_SERVING_WAIT_SECONDS": bad})


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3 endpoint on loopback; the AWS SDKs in this process use it."""
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
        yield endpoint
    finally:
        server.stop()


def s3_bucket() -> fsspec.AbstractFileSystem:
    """The emulator's S3, with the bucket `artifacts`."""
    filesystem = fsspec.filesystem("s3", skip_instance_cache=True)
    filesystem.makedirs("artifacts", exist_ok=True)
    return filesystem


def test_an_s3_prefix_is_copied_whole_into_the_cache(s3: str, tmp_path: Path) -> None:
    bucket = s3_bucket()
    source = tmp_path / "source"
    write_data(source)
    for name in (ONLINE_STORE, STATS):
        bucket.put_file(str(source / name), f"artifacts/serving/{name}")

    data = fetch("s3://artifacts/serving", wait=5, cache=tmp_path / "cache")
    assert data.online_store == tmp_path / "cache" / ONLINE_STORE
    assert data.online_store.read_bytes() == (source / ONLINE_STORE).read_bytes()
    assert data.stats.read_bytes() == (source / STATS).read_bytes()
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_a_missing_s3_object_is_named_with_its_url(s3: str, tmp_path: Path) -> None:
    s3_bucket().pipe(f"artifacts/serving/{STATS}", b"{}")
    with pytest.raises(
        ServingDataError, match=f"{ONLINE_STORE} not found under s3://artifacts/serving"
    ):
        fetch("s3://artifacts/serving", wait=0.6, cache=tmp_path / "cache")
