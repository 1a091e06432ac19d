"""The label, and which flights can have one.

A flight is delayed when it arrives more than 15 minutes late. A cancelled flight (no departure
time) and a diverted one (a departure but no arrival delay) never arrived where it was going, so
it has no label and no arrival: it is left out of the training table and of every trailing
aggregate.
"""

from __future__ import annotations

import pandas as pd

LABEL = "delayed"
DELAY_THRESHOLD_MINUTES = 15

ARRIVED = "arrived"
CANCELLED = "cancelled"
DIVERTED = "diverted"


def delayed(arr_delay: pd.Series) -> pd.Series:
    """1 when the arrival is more than 15 minutes late, else 0 (int8). Defined for arrived
    flights only; use `outcomes` to select them."""
    return (arr_delay.astype("float64") > DELAY_THRESHOLD_MINUTES).astype("int8")


def outcomes(dep_time: pd.Series, arr_delay: pd.Series) -> pd.Series:
    """ARRIVED, CANCELLED or DIVERTED for each flight."""
    outcome = pd.Series(ARRIVED, index=dep_time.index, dtype=object)
    outcome[dep_time.notna() & arr_delay.isna()] = DIVERTED
    outcome[dep_time.isna()] = CANCELLED
    return outcome
