"""The trailing window of the history features, from --window-days (params.yaml's
features.window_days, its only home)."""

from __future__ import annotations

import pandas as pd

from feature.errors import InputError

# Ten years: a longer window is a typo, and pandas cannot represent one of 300 years.
MAX_WINDOW_DAYS = 3650


def trailing_window(days: int) -> pd.Timedelta:
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise InputError(f"--window-days must be between 1 and {MAX_WINDOW_DAYS}, got {days}")
    return pd.Timedelta(days=days)
