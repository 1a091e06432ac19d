"""Which features serving's drift monitor leaves unwatched, in one place.

The splits are by time (train, then validation, then test, then live traffic), so a feature
bound to the calendar month takes, after the train split, only values the train split never
had: its population stability index against the train split is large by construction (about
17.7 for `month_of_year`), whatever the traffic, and a drift alert on it would fire for ever.
The model still uses these features; the feature build still records their statistics. A
module of its own, which the feature build and training do not import: the list changes
serving alone.
"""

from __future__ import annotations

# Calendar features (calendar.CALENDAR_FEATURES) whose values a time split never shares with
# the split before it. day_of_week, dep_hour and is_weekend repeat every week and day: watched.
NOT_DRIFT_MONITORED: tuple[str, ...] = ("month_of_year",)
