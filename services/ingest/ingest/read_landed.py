"""Reads one landed file defensively: a bad file yields a reason, never an exception."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from contracts.table import MISSING_VALUES, ContractViolation, TableContract

OTHER_DELIMITERS = (";", "\t", "|")


@dataclass(frozen=True)
class RejectedRow:
    line: int | None
    text: str
    reason: str


@dataclass(frozen=True)
class LandedFile:
    """A landed file: its raw rows (all strings, None when missing), the rows the CSV parser
    rejected, or, when the whole file is unusable, `problem` and the number of data lines."""

    name: str
    rows: pd.DataFrame | None = None
    rejected: list[RejectedRow] = field(default_factory=list)
    problem: str | None = None
    unusable_rows: int = 0


def read_landed(contract: TableContract, name: str, data: bytes) -> LandedFile:
    problem = _whole_file_problem(contract, data)
    if problem:
        return LandedFile(name, problem=problem, unusable_rows=_data_lines(data))

    rejected: list[RejectedRow] = []

    def reject(row: pacsv.InvalidRow) -> str:
        reason = f"row has {row.actual_columns} fields, expected {row.expected_columns}"
        rejected.append(RejectedRow(row.number, row.text, reason))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            parse_options=pacsv.ParseOptions(invalid_row_handler=reject),
            convert_options=pacsv.ConvertOptions(
                column_types={column: pa.string() for column in contract.columns},
                null_values=list(MISSING_VALUES),
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        return LandedFile(name, problem=f"unreadable CSV: {error}", unusable_rows=_data_lines(data))
    # Arrow strings arrive as object columns holding str, with None for nulls.
    return LandedFile(name, rows=table.to_pandas(), rejected=rejected)


def _whole_file_problem(contract: TableContract, data: bytes) -> str | None:
    if not data.strip():
        return "empty file"
    nul = data.find(b"\x00")
    if nul >= 0:
        return f"binary content: NUL byte at offset {nul}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8: byte 0x{data[error.start]:02x} at offset {error.start}"
    lines = text.splitlines()
    header = lines[0].split(",")
    for delimiter in OTHER_DELIMITERS:
        if set(lines[0].split(delimiter)) >= set(contract.columns):
            return f"wrong delimiter {delimiter!r}: the header splits on it, expected ','"
    try:
        contract.check_columns([column.strip() for column in header], source="header")
    except ContractViolation as violation:
        return str(violation)
    if not any(line.strip() for line in lines[1:]):
        return "header only: no data rows"
    return None


def _data_lines(data: bytes) -> int:
    """Non-empty lines after the header: what a reader would have counted as rows."""
    lines = [line for line in data.splitlines() if line.strip()]
    return max(len(lines) - 1, 0) if b"\x00" not in data else 0
