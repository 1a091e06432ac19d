"""Atomic output to any fsspec URL (s3://, memory://, a local path): the landing of raw files.
Apart from atomic.py, whose local-file helpers are plain Python, so that the DAGs' resolve
(which does not lock fsspec directly) can use them too."""

from __future__ import annotations

import uuid

import fsspec


def write_bytes_atomically(url: str, data: bytes) -> None:
    """Write `data` to a local path or any fsspec URL (s3://, memory://, ...) so that readers
    never see a partial file: write a temporary object beside it, then move it into place."""
    fs, path = fsspec.core.url_to_fs(url)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        fs.makedirs(parent, exist_ok=True)
    temporary = f"{path}.partial-{uuid.uuid4().hex}"
    fs.pipe_file(temporary, data)
    try:
        fs.mv(temporary, path)
    finally:
        if fs.exists(temporary):
            fs.rm(temporary)
