"""Reads one landed file defensively: a bad file yields a reason, never an exception.

A usable file is parsed straight into the contract's Arrow types. When Arrow cannot type a value,
or could type it where the contract's text parsing would not (hexadecimal integers, "nan"), the
file is read again as text and typed by `contracts.table.parse_text`, which names each value
that does not parse. Files are read whole and are small; most never reach the text path.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from contracts.table import (
    EXACT_FLOAT_INTEGER_LIMIT,
    MISSING_VALUES,
    ContractViolation,
    TableContract,
    parse_text,
)

OTHER_DELIMITERS = (";", "\t", "|")
# Bytes that end the previous field or line, and bytes Arrow skips before a number.
_FIELD_START = tuple(b",\r\n")
_BLANKS = tuple(b' \t"')


@dataclass(frozen=True)
class RejectedRow:
    line: int | None
    text: str
    reason: str


@dataclass(frozen=True)
class LandedFile:
    """A landed file: its rows typed as `contract.arrow_schema` (null where missing or where a
    value did not parse), why values of a row did not parse (by row position), the rows the CSV
    parser rejected, or, when the whole file is unusable, `problem` and the number of data
    lines."""

    name: str
    rows: pa.Table | None = None
    unparsed: dict[int, str] = field(default_factory=dict)
    rejected: list[RejectedRow] = field(default_factory=list)
    problem: str | None = None
    unusable_rows: int = 0


def read_landed(contract: TableContract, name: str, data: bytes) -> LandedFile:
    data = _without_bom(data)
    problem = _whole_file_problem(contract, data)
    if problem:
        return LandedFile(name, problem=problem, unusable_rows=_data_lines(data))
    data, unterminated = _complete_lines(data)
    if not _may_hold_hex_number(data):
        # Integers are read as such first. A file that writes them as floats ("2004.0", as a
        # pandas export of a column with gaps does) is read again with them as floats.
        for integers in (pa.int64(), pa.float64()):
            try:
                rows, rejected = _read_csv(contract, data, _arrow_types(contract, integers))
            except (pa.ArrowInvalid, ContractViolation):
                continue  # a value Arrow cannot type, or an unreadable file
            typed = _as_contract_types(contract, rows)
            if typed is not None:
                return LandedFile(name, rows=typed, rejected=rejected + unterminated)
    try:
        raw, rejected = _read_csv(contract, data, _arrow_types(contract, None))
    except (pa.ArrowInvalid, UnicodeDecodeError, ContractViolation) as error:
        return LandedFile(name, problem=f"unreadable CSV: {error}", unusable_rows=_data_lines(data))
    typed_text, reasons = parse_text(contract, _text_frame(raw))
    rows = pa.Table.from_pandas(typed_text, schema=contract.arrow_schema, preserve_index=False)
    # Without the pandas metadata from_pandas adds: these rows join those of typed reads.
    rows = rows.replace_schema_metadata(None)
    every_reason = reasons.to_numpy()
    unparsed = {int(row): str(every_reason[row]) for row in np.flatnonzero(every_reason != "")}
    return LandedFile(name, rows=rows, unparsed=unparsed, rejected=rejected + unterminated)


def read_text_rows(contract: TableContract, data: bytes) -> pd.DataFrame:
    """The rows of a file `read_landed` accepted, as text (None where missing), in the order and
    positions of its `rows`: the raw values a quarantined row is kept with."""
    complete, _ = _complete_lines(_without_bom(data))
    raw, _ = _read_csv(contract, complete, _arrow_types(contract, None))
    return _text_frame(raw)


def _without_bom(data: bytes) -> bytes:
    """Spreadsheet exports start UTF-8 with a byte-order mark; it is not part of the header."""
    return data.removeprefix(codecs.BOM_UTF8)


def _complete_lines(data: bytes) -> tuple[bytes, list[RejectedRow]]:
    """`data` up to its last line break, and the text after it as a rejected row. Upstream ends
    every file with a line break; a last line without one may have been cut short inside a
    value ("America/New" for "America/New_York") and still have all its fields and pass."""
    end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
    rest = data[end:]
    if not rest.strip():
        return data, []
    line = len(data[:end].splitlines()) + 1
    text = rest.decode("utf-8")
    reason = "last line has no line break at its end: the file may be truncated"
    return data[:end], [RejectedRow(line, text, reason)]


def _arrow_types(contract: TableContract, integers: pa.DataType | None) -> dict[str, pa.DataType]:
    """The type to read each column as: the contract's, with integer columns read as
    `integers`; or, for None, every column as text."""
    if integers is None:
        return {column: pa.string() for column in contract.columns}
    types = {field.name: field.type for field in contract.arrow_schema}
    return types | {column: integers for column in contract.integer_columns}


def _read_csv(
    contract: TableContract, data: bytes, types: dict[str, pa.DataType]
) -> tuple[pa.Table, list[RejectedRow]]:
    """The file's columns in contract order, read as `types`, and the rows with the wrong number
    of fields (skipped)."""
    rejected: list[RejectedRow] = []

    def reject(row: pacsv.InvalidRow) -> str:
        reason = f"row has {row.actual_columns} fields, expected {row.expected_columns}"
        rejected.append(RejectedRow(row.number, row.text, reason))
        return "skip"

    header = _header(data).split(",")
    table = pacsv.read_csv(
        io.BytesIO(data),
        # Files are small and many; the caller reads several at once instead.
        read_options=pacsv.ReadOptions(use_threads=False),
        parse_options=pacsv.ParseOptions(invalid_row_handler=reject),
        convert_options=pacsv.ConvertOptions(
            # Keyed by the header as written; the header check allows spaces around names.
            column_types={written: types[written.strip()] for written in header},
            null_values=list(MISSING_VALUES),
            strings_can_be_null=True,
        ),
    )
    names = [column.strip() for column in table.column_names]
    if names != [column.strip() for column in header]:
        raise ContractViolation(f"the CSV reader found columns {', '.join(names)}")
    return table.rename_columns(names).select(list(contract.columns)), rejected


def _as_contract_types(contract: TableContract, rows: pa.Table) -> pa.Table | None:
    """`rows` typed as the contract declares, or None when `parse_text` could judge a value
    differently: a NaN or infinite float (Arrow reads "nan", where parse_text finds no number),
    or an integer column read as floats holding a fraction or a number too large to be exact."""
    if not _all_floats_finite(contract, rows):
        return None
    for column in contract.integer_columns:
        values = rows.column(column)
        if values.type == pa.int64():
            continue
        largest = pc.max(pc.abs(values)).as_py()
        if largest is not None and largest >= EXACT_FLOAT_INTEGER_LIMIT:
            return None
        try:
            # A safe cast refuses fractions, NaN and infinities.
            integral = pc.cast(values, pa.int64())
        except pa.ArrowInvalid:
            return None
        rows = rows.set_column(rows.schema.get_field_index(column), column, integral)
    return rows


def _text_frame(raw: pa.Table) -> pd.DataFrame:
    # Arrow strings arrive as object columns holding str, with None for nulls.
    frame: pd.DataFrame = raw.to_pandas()
    return frame


def _all_floats_finite(contract: TableContract, rows: pa.Table) -> bool:
    return all(
        pc.all(pc.is_finite(rows.column(column))).as_py() is not False
        for column in contract.float_columns
    )


def _may_hold_hex_number(data: bytes) -> bool:
    """Whether a field may start with 0x or 0X: Arrow reads 0x10 in an integer column as 16,
    where the contract takes decimal numbers only. Tail numbers such as N910XJ hold "0X" too, so
    only a "0x" at the start of a field (after blanks or a quote) counts."""
    text = np.frombuffer(data, dtype=np.uint8)
    # numpy rather than bytes.find: "0X" occurs in most files, and this runs once per file.
    zeros = np.flatnonzero((text[:-1] == ord("0")) & ((text[1:] | 0x20) == ord("x")))
    after_field_start = np.isin(text[zeros - 1], _FIELD_START + _BLANKS) | (zeros == 0)
    for zero in zeros[after_field_start]:
        before = int(zero)
        while before > 0 and text[before - 1] in _BLANKS:
            before -= 1
        if before == 0 or text[before - 1] in _FIELD_START:
            return True
    return False


def _header(data: bytes) -> str:
    """The first line of UTF-8 `data` as str.splitlines() splits it, without decoding or
    splitting the whole file."""
    end = data.find(b"\n")
    lines = (data if end < 0 else data[:end]).decode("utf-8").splitlines()
    return lines[0] if lines else ""


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
    first = _header(data)
    for delimiter in OTHER_DELIMITERS:
        if set(first.split(delimiter)) >= set(contract.columns):
            return f"wrong delimiter {delimiter!r}: the header splits on it, expected ','"
    try:
        contract.check_columns([column.strip() for column in first.split(",")], source="header")
    except ContractViolation as violation:
        return str(violation)
    if not text[len(first) :].strip():
        return "header only: no data rows"
    return None


def _data_lines(data: bytes) -> int:
    """Non-empty lines after the header: what a reader would have counted as rows."""
    lines = [line for line in data.splitlines() if line.strip()]
    return max(len(lines) - 1, 0) if b"\x00" not in data else 0
