"""Locations that are a local path or any fsspec URL (s3://, memory://, ...): checking one
names a place, errors of a storage's client, and atomic output (the landing of raw files).
Which locations are remote is decided in storage.locations, in plain Python."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import fsspec
from fsspec.implementations.local import LocalFileSystem

from storage.atomic import OutputWriteError, atomic_output
from storage.inputs import lookup_problem
from storage.locations import is_remote


class LocationError(ValueError):
    """A location that names no place; the message names the setting it came from, and why."""


class StorageError(OSError):
    """A storage's client failed; the message names what was done, where, and the client's
    error with its kind."""


def check_location(where: str, named: str) -> None:
    """LocationError unless `where` (the setting `named`) names a place: a directory, or a URL
    of a storage fsspec knows, with its bucket or host. Empty, it would be the file system's
    root once a file name is joined on; `s3://` alone would be the local path `s3:`."""
    if not where.strip():
        raise LocationError(f"{named} is empty: name a local path or a URL such as s3://<bucket>/")
    if not is_remote(where):
        local = where.removeprefix("file://")
        if not local.strip():
            raise LocationError(f"{named} {where!r} names no path")
        problem = lookup_problem(Path(local))
        if problem:
            raise LocationError(f"{named} {where!r} {problem}")
        return
    try:
        parts = urlsplit(where)
    except ValueError as error:
        raise LocationError(f"{named} {where!r} is not a URL: {error}") from None
    if parts.scheme not in fsspec.available_protocols():
        raise LocationError(
            f"{named} {where!r}: no storage is known by the scheme {parts.scheme!r} "
            "(a directory, or a URL such as s3://<bucket>/<prefix>)"
        )
    if not parts.netloc:
        raise LocationError(f"{named} {where!r} names no bucket or host")


def describe(error: BaseException) -> str:
    """An error of a storage for a message: an OSError says enough; others (botocore's missing
    credentials, fsspec's missing client) need their kind."""
    return str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"


@contextmanager
def storage_errors(action: str, url: str, kind: type[Exception] = StorageError) -> Iterator[None]:
    """Any error of a storage's client in the block, raised as a `kind` (a caller's own error
    class, else StorageError) that names `action` and `url`: they are not all OSErrors."""
    try:
        yield
    except (StorageError, kind):
        raise
    except OutputWriteError as error:  # names the output already
        raise kind(str(error)) from error
    except Exception as error:
        raise kind(f"cannot {action} {url}: {describe(error)}") from error


def write_bytes_atomically(url: str, data: bytes) -> None:
    """Write `data` to a local path or any fsspec URL (s3://, memory://, ...) so that readers
    never see a partial file: write a temporary object beside it, then move it into place.
    Any error of the storage is a StorageError naming `url`."""
    with storage_errors("write", url):
        fs, path = fsspec.core.url_to_fs(url)
        if isinstance(fs, LocalFileSystem):
            # Durably: fsspec's pipe_file and mv fsync neither the file nor its directory.
            with atomic_output(path) as tmp:
                tmp.write_bytes(data)
            return
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        temporary = f"{path}.partial-{uuid.uuid4().hex}"
        try:
            fs.pipe_file(temporary, data)
            fs.mv(temporary, path)
        finally:
            if fs.exists(temporary):
                fs.rm(temporary)
