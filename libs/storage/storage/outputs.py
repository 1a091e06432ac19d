"""Where a command may write its output, checked before it does any work: a run that could only
fail at its end (after training, say), or would replace its own input, stops at its start and
says why. The output itself is then written whole by storage.atomic."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from storage.locations import is_remote

PathLike = str | os.PathLike[str]


class OutputError(ValueError):
    """An output path that names no place, cannot be written, or would replace an input; the
    message names the option and why."""


def check_output(
    output: PathLike,
    named: str,
    *,
    inputs: Mapping[str, PathLike] | None = None,
    directory: bool = True,
) -> Path:
    """`output` (the option `named`) as a Path, once it is a local place (no URL, `file://`
    included: a caller that takes one strips it) this process can write a directory (or,
    `directory=False`, a file) and overlaps none of `inputs` (option name to path; URLs of a
    remote store cannot overlap a local path and are skipped)."""
    text = os.fspath(output)
    path = Path(text)
    if "://" in text:
        # As a Path, s3://bucket/key is the local s3:/bucket/key: the run would write there.
        raise OutputError(
            f"{named} {text!r} is a URL, and this output is written to a local path: give one"
        )
    if not text or path.name in ("", ".."):
        raise OutputError(
            f"{named} {text!r} names no file or directory of its own: give a path that ends "
            "in a name"
        )
    real = Path(os.path.realpath(path))
    for input_named, source in (inputs or {}).items():
        source_text = os.fspath(source)
        if is_remote(source_text):
            continue
        source_real = Path(os.path.realpath(source_text.removeprefix("file://")))
        if real == source_real or source_real in real.parents or real in source_real.parents:
            raise OutputError(
                f"{named} {text!r} overlaps {input_named} {source_text!r}: writing it would "
                "replace or change that input; choose an output outside it"
            )
    try:
        _check_place(path, named, directory)
    except OSError as error:  # a name too long for the filesystem, say
        raise OutputError(
            f"{named} {text!r} cannot be written: {error.strerror or error}"
        ) from None
    return path


def _check_place(path: Path, named: str, directory: bool) -> None:
    """Refuse `path` if it is of the other kind, or if its nearest existing ancestor is not a
    directory this user can write in."""
    text = os.fspath(path)
    kind = "directory" if directory else "file"
    if (path.is_symlink() or path.exists()) and directory != path.is_dir():
        found = "a directory" if path.is_dir() else "not a directory"
        raise OutputError(
            f"{named} {text!r} is {found}, and this output is a {kind}: remove it or choose "
            "another path"
        )
    ancestor = Path(os.path.abspath(text)).parent
    while not (ancestor.exists() or ancestor.is_symlink()):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{named} {text!r}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{named} {text!r}: this user cannot write in {ancestor}")
