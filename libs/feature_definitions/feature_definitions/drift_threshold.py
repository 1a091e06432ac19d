"""The drift threshold that travels with the feature statistics.

params.yaml's monitor.psi_threshold is its only home. The feature build writes it into
stats.json under PSI_THRESHOLD_KEY, beside the reference histograms; serving reads it from
there and exports it, so the drift alert compares against the value the served statistics were
built with. Both sides check it with `psi_threshold_value`.
"""

from __future__ import annotations

import math

PSI_THRESHOLD_KEY = "psi_threshold"


def psi_threshold_value(value: object, name: str) -> float:
    """`value` as a threshold: a positive, finite number (a bool is not one). Raises ValueError
    naming `name`, the flag or the key it was read from."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond a float's range
        number = math.inf
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number
