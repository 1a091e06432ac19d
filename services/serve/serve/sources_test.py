"""The serving data from a directory or from S3 (a real S3 API: moto's server on loopback),
with a bounded wait and errors that name what is missing and where."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

import fsspec
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from online_store.store import HORIZON_ALLOWANCE
from serve.settings import VERSION
from serve.sources import (
    ALLOWANCE_ENV,
    DATA_ENV,
    MODEL_VERSION,
    ONLINE_STORE,
    STATS,
    ServingDataError,
    anchored,
    fetch,
    for_model,
    horizon_allowance,
    location,
    wait_seconds,
)
from storage.locations import is_remote

# Model versions as BentoML writes them.
versions = st.from_regex(VERSION, fullmatch=True)


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


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout's root (it holds pants.toml); the test runs in its services/."""
    (tmp_path / "pants.toml").write_text("")
    (tmp_path / "services").mkdir()
    monkeypatch.chdir(tmp_path / "services")
    return tmp_path


def test_settings_default_to_the_repo_data_and_reject_a_bad_wait(checkout: Path) -> None:
    assert location("v1", {}) == str(checkout / "data")
    assert location("v1", {"FLIGHT_DELAY_SERVING_DATA": "s3://b/serving"}) == "s3://b/serving"
    per_model = {"FLIGHT_DELAY_SERVING_DATA": "s3://b/serving/{model_version}"}
    assert location("v1", per_model) == "s3://b/serving/v1"
    assert wait_seconds({}) == 600
    assert wait_seconds({"FLIGHT_DELAY_SERVING_WAIT_SECONDS": "2.5"}) == 2.5
    for bad in ("soon", "-1", "inf", "nan"):
        with pytest.raises(ServingDataError, match="FLIGHT_DELAY_SERVING_WAIT_SECONDS"):
            wait_seconds({"FLIGHT_DELAY_SERVING_WAIT_SECONDS": bad})


def test_the_horizon_allowance_defaults_to_the_stores_and_rejects_a_bad_value() -> None:
    assert horizon_allowance({}) == HORIZON_ALLOWANCE == pd.Timedelta(days=1)
    assert horizon_allowance({ALLOWANCE_ENV: ""}) == HORIZON_ALLOWANCE
    assert horizon_allowance({ALLOWANCE_ENV: "0"}) == pd.Timedelta(0)
    assert horizon_allowance({ALLOWANCE_ENV: "1.5"}) == pd.Timedelta(minutes=90)
    assert horizon_allowance({ALLOWANCE_ENV: "87672"}) == pd.Timedelta(days=3653)
    for bad, why in [
        ("a day", "is not a number of hours"),
        ("-1", "must be a finite number of hours from 0 to 87672"),
        ("nan", "must be a finite number of hours"),
        ("inf", "must be a finite number of hours"),
        ("87673", "must be a finite number of hours"),
    ]:
        with pytest.raises(
            ServingDataError, match=f"^FLIGHT_DELAY_HORIZON_ALLOWANCE_HOURS={bad!r} {why}"
        ):
            horizon_allowance({ALLOWANCE_ENV: bad})


def test_anchored_makes_a_local_location_absolute_here_and_keeps_the_rest(checkout: Path) -> None:
    assert anchored({}) == str(checkout / "data")
    relative = {"FLIGHT_DELAY_SERVING_DATA": "../data/{model_version}"}
    assert anchored(relative) == str(checkout / "data" / "{model_version}")
    assert anchored({"FLIGHT_DELAY_SERVING_DATA": "file://store"}) == str(
        checkout / "services/store"
    )
    remote = "s3://b/serving/{model_version}"
    assert anchored({"FLIGHT_DELAY_SERVING_DATA": remote}) == remote


@given(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), min_size=1))
def test_any_location_once_anchored_names_the_same_place_from_any_directory(where: str) -> None:
    fixed = anchored({DATA_ENV: where})
    if is_remote(where):
        assert fixed == where
        return
    here = Path.cwd()
    local = Path(where.removeprefix("file://"))
    assert Path(fixed).is_absolute()
    if ".." not in local.parts:
        assert Path(fixed) == here / local
    os.chdir("/")
    try:
        assert anchored({DATA_ENV: fixed}) == fixed
    finally:
        os.chdir(here)


def test_an_s3_prefix_is_copied_whole_into_the_cache(
    s3: fsspec.AbstractFileSystem, tmp_path: Path
) -> None:
    bucket = s3
    source = tmp_path / "source"
    write_data(source)
    for name in (ONLINE_STORE, STATS):
        bucket.put_file(str(source / name), f"artifacts/serving/{name}")

    data = fetch("s3://artifacts/serving", wait=5, cache=tmp_path / "cache")
    assert data.online_store == tmp_path / "cache" / ONLINE_STORE
    assert data.online_store.read_bytes() == (source / ONLINE_STORE).read_bytes()
    assert data.stats.read_bytes() == (source / STATS).read_bytes()
    # The two files and nothing else: no temporary copy is left beside them.
    cached = (tmp_path / "cache").rglob("*")
    assert sorted(str(p.relative_to(tmp_path / "cache")) for p in cached if p.is_file()) == sorted(
        [str(ONLINE_STORE), str(STATS)]
    )


def test_by_default_a_remote_prefix_is_cached_in_a_private_directory_of_this_user(
    s3: fsspec.AbstractFileSystem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_data(tmp_path / "source")
    for name in (ONLINE_STORE, STATS):
        s3.put_file(str(tmp_path / "source" / name), f"artifacts/serving/{name}")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    data = fetch("s3://artifacts/serving", wait=5)
    root = tmp_path / "tmp" / f"flight-delay-serving-{os.getuid()}"
    assert data.online_store.is_relative_to(root) and data.stats.is_relative_to(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700

    # Made by someone else, or open to them: another user could swap a file in after its
    # download. Refused, named.
    root.chmod(0o777)
    with pytest.raises(ServingDataError, match=f"^{root} is not this user's private cache"):
        fetch("s3://artifacts/serving", wait=5)
    shutil.rmtree(root)
    root.symlink_to(tmp_path / "source")
    with pytest.raises(ServingDataError, match=f"^{root} is not this user's private cache"):
        fetch("s3://artifacts/serving", wait=5)


def test_a_missing_s3_object_is_named_with_its_url(
    s3: fsspec.AbstractFileSystem, tmp_path: Path
) -> None:
    s3.pipe(f"artifacts/serving/{STATS}", b"{}")
    with pytest.raises(
        ServingDataError, match=f"{ONLINE_STORE} not found under s3://artifacts/serving"
    ):
        fetch("s3://artifacts/serving", wait=0.6, cache=tmp_path / "cache")


@given(versions, versions)
def test_each_model_version_has_its_own_location(first: str, second: str) -> None:
    template = f"s3://artifacts/serving/{MODEL_VERSION}"
    assert for_model(template, first) == f"s3://artifacts/serving/{first}"
    assert (for_model(template, first) == for_model(template, second)) == (first == second)
    # A location without the placeholder is the same for every model (a local data/ directory).
    assert for_model("s3://artifacts/serving", first) == "s3://artifacts/serving"


@given(st.text().filter(lambda text: not VERSION.fullmatch(text)))
def test_a_version_that_cannot_stand_in_a_key_is_named(version: str) -> None:
    with pytest.raises(ServingDataError, match="cannot stand for") as raised:
        for_model(f"s3://artifacts/serving/{MODEL_VERSION}", version)
    assert repr(version) in str(raised.value)


def stray_brace(where: str) -> bool:
    return any(brace in where.replace(MODEL_VERSION, "") for brace in "{}")


@given(st.tuples(st.text(), st.sampled_from("{}"), st.text()).map("".join).filter(stray_brace))
def test_any_other_placeholder_is_refused_by_name(where: str) -> None:
    with pytest.raises(ServingDataError, match="the only placeholder") as raised:
        for_model(where, "v1")
    assert repr(where) in str(raised.value)


def test_a_model_reads_the_data_published_under_its_version(
    s3: fsspec.AbstractFileSystem, tmp_path: Path
) -> None:
    template = f"s3://artifacts/serving/{MODEL_VERSION}"
    for version, stats in (("old", b'{"old": 1}'), ("new", b'{"new": 2}')):
        s3.pipe(f"artifacts/serving/{version}/{ONLINE_STORE}", b"SQLite format 3\x00")
        s3.pipe(f"artifacts/serving/{version}/{STATS}", stats)
    old = fetch(for_model(template, "old"), wait=5, cache=tmp_path / "old")
    new = fetch(for_model(template, "new"), wait=5, cache=tmp_path / "new")
    assert old.stats.read_bytes() == b'{"old": 1}'
    assert new.stats.read_bytes() == b'{"new": 2}'


def test_a_location_that_names_no_place_is_a_serving_data_error_naming_the_setting() -> None:
    with pytest.raises(ServingDataError, match=f"^{DATA_ENV} 's3://' names no bucket or host"):
        for_model("s3://", "v1")


def test_an_error_of_the_storage_client_is_named_with_its_kind(tmp_path: Path) -> None:
    # fsspec knows gcs:// by name; its client (gcsfs) is not installed: an ImportError.
    with pytest.raises(
        ServingDataError,
        match=r"^cannot read gcs://artifacts/serving/online_store/online\.sqlite: ImportError: ",
    ):
        fetch("gcs://artifacts/serving", wait=0, cache=tmp_path)
