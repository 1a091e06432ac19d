"""Locations and the errors of a storage's client, on fsspec's real protocols."""

from __future__ import annotations

import re
from pathlib import Path

import fsspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.atomic import atomic_write_text
from storage.remote import (
    LocationError,
    StorageError,
    check_location,
    storage_errors,
    write_bytes_atomically,
)
from storage.testing import file_size_limit, name_too_long


@pytest.mark.parametrize(
    ("where", "named"),
    [
        # Joined with a file name, these were the file system's root.
        ("", "--landing is empty"),
        ("  ", "--landing is empty"),
        # Read as local paths, these were `s3:` and `/x` under the working directory.
        ("file://", "--landing 'file://' names no path"),
        ("s3://", "--landing 's3://' names no bucket or host"),
        ("s3:///landing", "--landing 's3:///landing' names no bucket or host"),
        (
            "s4://bucket/landing",
            "--landing 's4://bucket/landing': no storage is known by the scheme 's4'",
        ),
        ("s3://[bucket/landing", "--landing 's3://[bucket/landing' is not a URL"),
    ],
)
def test_a_location_that_names_no_place_is_refused_naming_the_setting(
    where: str, named: str
) -> None:
    with pytest.raises(LocationError, match=f"^{re.escape(named)}"):
        check_location(where, "--landing")


@pytest.mark.parametrize("scheme", ["", "file://"])
def test_a_local_path_the_filesystem_cannot_look_up_is_refused(tmp_path: Path, scheme: str) -> None:
    where = f"{scheme}{name_too_long(tmp_path)}"
    with pytest.raises(LocationError, match=re.escape(f"--landing {where!r} cannot be looked up")):
        check_location(where, "--landing")


@pytest.mark.parametrize(
    "where", ["data/landing", "/srv/landing", "file:///srv/landing", "s3://bucket", "memory://x/y"]
)
def test_a_directory_or_a_url_with_its_bucket_is_a_place(where: str) -> None:
    check_location(where, "--landing")


@given(st.from_regex(r"[a-z][a-z0-9+.-]{0,12}", fullmatch=True))
def test_a_url_is_a_place_exactly_when_fsspec_knows_its_scheme(scheme: str) -> None:
    where = f"{scheme}://bucket/prefix"
    if scheme in fsspec.available_protocols():
        check_location(where, "--to")
    else:
        with pytest.raises(LocationError, match=re.escape(f"the scheme {scheme!r}")):
            check_location(where, "--to")


def test_an_error_of_the_client_names_the_action_the_url_and_its_kind() -> None:
    # fsspec knows gcs:// by name; its client (gcsfs) is not installed: an ImportError, no
    # OSError, which callers that handle OSError would have let through as a traceback.
    with pytest.raises(StorageError, match=r"^cannot write gcs://b/x\.csv: ImportError: "):
        write_bytes_atomically("gcs://b/x.csv", b"data")
    with (
        pytest.raises(StorageError, match=r"^cannot list s3://b: KeyError: 'k'"),
        storage_errors("list", "s3://b"),
    ):
        raise KeyError("k")


def test_a_storage_error_inside_is_not_wrapped_twice(tmp_path: Path) -> None:
    with (
        pytest.raises(StorageError, match=r"^cannot write gcs://b/x\.csv: ImportError"),
        storage_errors("land", "gcs://b"),
    ):
        write_bytes_atomically("gcs://b/x.csv", b"data")
    # An output with no room is named once, as the caller's kind (before: "cannot write X:
    # cannot write X: ...", as serve's publish to a full disk said).
    target = tmp_path / "online.sqlite"
    with (
        file_size_limit(1024),
        pytest.raises(StorageError) as failed,
        storage_errors("write", str(target)),
    ):
        atomic_write_text(target, "x" * 4096)
    assert str(failed.value) == f"cannot write {target}: File too large; {target} is left as it was"
