"""Test support for paths the filesystem refuses: real failures, without root or a full disk.

    with file_size_limit(4096):
        main([...])  # any file this process grows past 4 KiB fails with EFBIG, "File too large"

Python ignores SIGXFSZ, so a write past the limit fails with EFBIG instead of killing the process.
Only the soft limit is lowered, and it is put back after the block.

`name_too_long(directory)` is a path no file can have there (ENAMETOOLONG on any look-up).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def name_too_long(directory: Path) -> Path:
    """A path in `directory` whose name is one character longer than its filesystem allows."""
    return directory / ("x" * (os.pathconf(directory, "PC_NAME_MAX") + 1))


@contextmanager
def file_size_limit(limit_bytes: int) -> Iterator[None]:
    """No file this process writes grows past `limit_bytes` in the block (RLIMIT_FSIZE)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if hard != resource.RLIM_INFINITY and limit_bytes > hard:
        raise ValueError(f"limit {limit_bytes} is above this process's hard limit {hard}")
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
