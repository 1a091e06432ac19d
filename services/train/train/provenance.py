"""Where a model came from: the git commit of the code, DVC's hash of the feature table, the
trailing window its features were computed over and the dates its splits end on."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from feature_definitions.trailing_window import STATS_FILE, WINDOW_DAYS_KEY, trailing_window
from feature_definitions.weather import WEATHER_LEAD_HOURS_KEY, weather_lead_hours
from train.data import TrainingDataError

UNKNOWN = "unknown"
# The feature service's summary of its output (services/feature/feature/build.py), which records
# the split boundaries: train up to train_end, validation up to validation_end (New York
# dates of the scheduled departure), test after.
SUMMARY_FILE = "summary.json"
SPLIT_KEYS: tuple[str, ...] = ("train_end", "validation_end")


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


def _json_object(path: Path | None, what: str) -> dict[str, Any] | None:
    """The JSON object in the file `path`, None when there is no such file (or no path);
    TrainingDataError naming it when it is not readable JSON or not an object (of `what`)."""
    if path is None:
        return None
    try:
        content = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise TrainingDataError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(content, dict):
        raise TrainingDataError(
            f"{path} is not a JSON object of {what}: it holds a {type(content).__name__}"
        )
    return content


def features_window_days(directory: Path | None) -> int | None:
    """The trailing window (days) the feature build recorded in `directory`'s statistics, or
    None where there is none to read (SageMaker's per-split channels, a table made by hand, a
    build older than the record). TrainingDataError when the statistics cannot be read or
    their window is not one."""
    path = None if directory is None else directory / STATS_FILE
    stats = _json_object(path, "statistics")
    if stats is None or WINDOW_DAYS_KEY not in stats:
        return None
    try:
        return int(trailing_window(stats[WINDOW_DAYS_KEY], f"{path}: {WINDOW_DAYS_KEY!r}").days)
    except ValueError as error:
        raise TrainingDataError(str(error)) from None


def features_weather_lead_hours(directory: Path | None) -> int | None:
    """The weather lead (hours) the feature build recorded in `directory`'s statistics, or None
    where there is none to read (as features_window_days). TrainingDataError when the
    statistics cannot be read or the lead is not a whole number of hours >= 0."""
    path = None if directory is None else directory / STATS_FILE
    stats = _json_object(path, "statistics")
    if stats is None or WEATHER_LEAD_HOURS_KEY not in stats:
        return None
    try:
        return weather_lead_hours(stats[WEATHER_LEAD_HOURS_KEY], repr(WEATHER_LEAD_HOURS_KEY))
    except ValueError as error:
        raise TrainingDataError(f"{path}: {error}") from None


def features_split(directory: Path | None) -> dict[str, str] | None:
    """The split boundaries the feature build recorded in `directory`'s summary,
    {"train_end": "YYYY-MM-DD", "validation_end": "YYYY-MM-DD"}, or None where there is none to
    read (SageMaker's per-split channels, a table made by hand). TrainingDataError when the
    summary cannot be read or its boundaries are not dates in order."""
    path = None if directory is None else directory / SUMMARY_FILE
    summary = _json_object(path, "the feature build's summary")
    if summary is None or not any(key in summary for key in SPLIT_KEYS):
        return None
    dates = {}
    for key in SPLIT_KEYS:
        value = summary.get(key)
        try:
            dates[key] = dt.date.fromisoformat(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise TrainingDataError(
                f"{path}: {key!r} is {value!r}, not a date (YYYY-MM-DD)"
            ) from None
    if dates["validation_end"] <= dates["train_end"]:
        raise TrainingDataError(
            f"{path}: validation_end {dates['validation_end']} is not after train_end "
            f"{dates['train_end']}"
        )
    return {key: date.isoformat() for key, date in dates.items()}
