"""The trailing window of the history features, from --window-days (params.yaml's
features.window_days, its only home; feature_definitions.trailing_window)."""

from __future__ import annotations

import pandas as pd

from feature.errors import InputError
from feature_definitions.trailing_window import trailing_window


def window_argument(days: int) -> pd.Timedelta:
    """--window-days as the window; InputError naming the flag when it is not one."""
    try:
        return trailing_window(days, "--window-days")
    except ValueError as error:
        raise InputError(str(error)) from None
