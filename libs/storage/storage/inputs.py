"""What is wrong with a path a command reads, in words, before it reads it.

pathlib's `exists` and `is_dir` raise, rather than answer, for a path the filesystem cannot look
up (a name longer than it allows, a directory this user cannot search); a command's check of its
input then ended in a traceback. These name that too.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

# The errors pathlib's `exists` answers False for: nothing is there to read.
_NOTHING_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def lookup_problem(path: Path) -> str | None:
    """Why the filesystem cannot look `path` up, to follow its name in a message; None when it
    can (whether or not anything is there)."""
    status = _status(path)
    return status if isinstance(status, str) else None


def directory_problem(path: Path) -> str | None:
    """None when `path` is a directory; otherwise what it is instead, to follow its name in a
    message: "does not exist", "is not a directory", or why it cannot be looked up."""
    return _kind_problem(path, stat.S_ISDIR, "is not a directory")


def file_problem(path: Path) -> str | None:
    """None when `path` is a regular file (or a link to one); otherwise what it is instead, as
    `directory_problem` says it."""
    return _kind_problem(path, stat.S_ISREG, "is not a regular file")


def _status(path: Path) -> os.stat_result | str | None:
    """What `path` names, links followed; None when nothing is there, and why when the
    filesystem cannot look it up."""
    try:
        return path.stat()
    except OSError as error:
        if error.errno in _NOTHING_THERE:
            return None
        return f"cannot be looked up ({error.strerror or error})"


def _kind_problem(path: Path, is_kind: Callable[[int], bool], other: str) -> str | None:
    status = _status(path)
    if status is None:
        return _absence(path)
    if isinstance(status, str):
        return status
    return None if is_kind(status.st_mode) else other


def _absence(path: Path) -> str:
    # A link whose target is gone is listed by `ls` and globs; "does not exist" alone would
    # contradict what the reader sees.
    if path.is_symlink():
        return f"is a link to {os.readlink(path)}, which does not exist"
    return "does not exist"
