"""The trailing window of the history features, and how it travels with the features.

params.yaml's features.window_days is its only home. The feature build computes the training
table over it and writes it into its statistics file (STATS_FILE) under WINDOW_DAYS_KEY; the
evaluate stage records it with each model it registers (model_registry's
METADATA_FEATURES_WINDOW_DAYS), and the online store records the window it was built with
(online_store). The service refuses a store whose window is not the model's or the statistics':
its history features would count the flights of another window than the features the model was
trained on. Every side checks the number with `trailing_window`.
"""

from __future__ import annotations

import pandas as pd

# The feature build's statistics file, in its output directory.
STATS_FILE = "stats.json"
WINDOW_DAYS_KEY = "window_days"
# Ten years: a longer window is a typo, and pandas cannot represent one of 300 years.
MAX_WINDOW_DAYS = 3650


def trailing_window(days: object, name: str) -> pd.Timedelta:
    """`days` as the window: a whole number of days from 1 to MAX_WINDOW_DAYS (a bool is not
    one). Raises ValueError naming `name`, the flag or the key it was read from."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValueError(f"{name} must be a whole number of days, got {days!r}")
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise ValueError(f"{name} must be between 1 and {MAX_WINDOW_DAYS}, got {days!r}")
    return pd.Timedelta(days=days)
