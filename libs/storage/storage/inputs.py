"""What is wrong with a path a command reads, in words, before it reads it.

pathlib's `exists` and `is_dir` raise, rather than answer, for a path the filesystem cannot look
up (a name longer than it allows, a directory this user cannot search); a command's check of its
input then ended in a traceback. These name that too.
"""

from __future__ import annotations

import os
from pathlib import Path


def lookup_problem(path: Path) -> str | None:
    """Why the filesystem cannot look `path` up, to follow its name in a message; None when it
    can (whether or not anything is there)."""
    try:
        path.exists()
    except OSError as error:
        return f"cannot be looked up ({error.strerror or error})"
    return None


def directory_problem(path: Path) -> str | None:
    """None when `path` is a directory; otherwise what it is instead, to follow its name in a
    message: "does not exist", "is not a directory", or why it cannot be looked up."""
    problem = lookup_problem(path)
    if problem or path.is_dir():
        return problem
    return "is not a directory" if path.exists() else _absence(path)


def file_problem(path: Path) -> str | None:
    """None when `path` is a regular file (or a link to one); otherwise what it is instead, as
    `directory_problem` says it."""
    problem = lookup_problem(path)
    if problem or path.is_file():
        return problem
    return "is not a regular file" if path.exists() else _absence(path)


def _absence(path: Path) -> str:
    # A link whose target is gone is listed by `ls` and globs; "does not exist" alone would
    # contradict what the reader sees.
    if path.is_symlink():
        return f"is a link to {os.readlink(path)}, which does not exist"
    return "does not exist"
