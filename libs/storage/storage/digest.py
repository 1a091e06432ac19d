"""sha256 digests of files and of directory trees: what a model's registration records and its
loading checks, what the serving data's publisher compares, and what tests compare."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

BLOCK_BYTES = 1 << 20


def sha256_of_stream(stream: BinaryIO) -> str:
    """The sha256 of what is left to read in `stream`, read a block at a time."""
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(BLOCK_BYTES), b""):
        digest.update(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    with open(path, "rb") as stream:
        return sha256_of_stream(stream)


def tree_sha256(root: Path, *under: str) -> dict[str, str]:
    """The sha256 of every file under `root` (only under these subdirectories of it, if any are
    named), by its POSIX path relative to `root`."""
    tops = [root / name for name in under] or [root]
    return {
        path.relative_to(root).as_posix(): sha256_of(path)
        for top in tops
        for path in sorted(top.rglob("*"))
        if path.is_file()
    }
