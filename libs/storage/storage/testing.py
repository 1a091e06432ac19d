"""Test support for outputs that find no room: a real write failure, without root or a full disk.

    with file_size_limit(4096):
        main([...])  # any file this process grows past 4 KiB fails with EFBIG, "File too large"

Python ignores SIGXFSZ, so a write past the limit fails with EFBIG instead of killing the process.
Only the soft limit is lowered, and it is put back after the block.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import contextmanager


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
