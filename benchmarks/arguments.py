"""The benchmarks' arguments that are counts, durations or report files, refused by name when
they are not usable: `--runs 0` ran the whole benchmark, then crashed taking the median of no
runs."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def count(text: str) -> int:
    """An argparse type: a whole number >= 1 (runs, workers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds > 0")
    return value


def report_file(text: str) -> Path:
    """An argparse type: the path of a report file, to write or to read. Not empty: `Path("")`
    is the current directory, which is no report."""
    if not text:
        raise argparse.ArgumentTypeError("empty: give a file's path")
    return Path(text)


def built_pex(text: str, build: str) -> Path:
    """A built PEX in the packed layout the services use: a directory with a __main__.py (an
    empty path is the current directory, which is none). `build` is the command that builds
    one, for the message."""
    path = Path(text)
    if not (path / "__main__.py").is_file():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a built artifact (no __main__.py in it): {build} builds one"
        )
    return path
