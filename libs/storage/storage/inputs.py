"""What is wrong with a path a command reads, in words, before it reads it.

pathlib's `is_dir` raises, rather than answering, for a path the filesystem cannot look up (a
name longer than it allows, a directory this user cannot search); a command's check of its
input then ended in a traceback. `directory_problem` names that too.
"""

from __future__ import annotations

from pathlib import Path


def directory_problem(path: Path) -> str | None:
    """None when `path` is a directory; otherwise what it is instead, to follow its name in a
    message: "does not exist", "is not a directory", or why it cannot be looked up."""
    try:
        if path.is_dir():
            return None
        return "is not a directory" if path.exists() else "does not exist"
    except OSError as error:
        return f"cannot be looked up ({error.strerror or error})"
