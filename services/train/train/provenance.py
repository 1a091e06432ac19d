"""Where a model came from: the git commit of the code, DVC's hash of the feature table and the
trailing window its features were computed over."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from feature_definitions.trailing_window import STATS_FILE, WINDOW_DAYS_KEY, trailing_window
from train.data import TrainingDataError

UNKNOWN = "unknown"


def git_state(cwd: Path) -> tuple[str, bool]:
    """(HEAD's commit, whether tracked files differ from it). Outside a git checkout, such as
    a SageMaker container, the commit is $GIT_COMMIT when the image sets it, else "unknown"."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("GIT_COMMIT", UNKNOWN), False
    return commit, bool(status.strip())


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dvc_directory_hash(directory: Path) -> str:
    """The hash DVC 3 records in dvc.lock for a directory output: the md5 of the JSON list of
    its files' relative paths and md5s, sorted by path, with the suffix `.dir`."""
    files = sorted(
        (path for path in directory.rglob("*") if path.is_file()),
        key=lambda path: path.relative_to(directory).parts,
    )
    entries = [
        {"md5": _md5(path), "relpath": path.relative_to(directory).as_posix()} for path in files
    ]
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode()).hexdigest() + ".dir"


def features_window_days(directory: Path | None) -> int | None:
    """The trailing window (days) the feature build recorded in `directory`'s statistics, or
    None where there is none to read (SageMaker's per-split channels, a table made by hand, a
    build older than the record). TrainingDataError when the statistics cannot be read or
    their window is not one."""
    if directory is None:
        return None
    path = directory / STATS_FILE
    try:
        stats = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise TrainingDataError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(stats, dict):
        raise TrainingDataError(
            f"{path} is not a JSON object of statistics: it holds a {type(stats).__name__}"
        )
    if WINDOW_DAYS_KEY not in stats:
        return None
    try:
        return int(trailing_window(stats[WINDOW_DAYS_KEY], f"{path}: {WINDOW_DAYS_KEY!r}").days)
    except ValueError as error:
        raise TrainingDataError(str(error)) from None
