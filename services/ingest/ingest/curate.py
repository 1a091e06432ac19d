"""Curates landed tables: contract check, quarantine, de-duplication, partitioned Parquet.

Output tree, replaced whole and atomically on every run:

    <curated>/<table>/<YYYY-MM>.parquet          accepted rows, typed, one file per month
    <curated>/<table>/<table>.parquet            (tables without dates: planes)
    <curated>/quarantine/<table>/rows.parquet    rejected rows, raw, with the reason for each
    <curated>/quarantine/<table>/files/<name>     copies of files that could not be read at all
    <curated>/reports/<table>/<name>.json        per input file: rows read, accepted,
                                                 quarantined and duplicate, and why
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.table import TableContract, check_typed, typed_frame
from contracts.tables import CURATED_TABLES
from ingest.read_landed import LandedFile, read_landed, read_text_rows
from storage.atomic import staged_directory

SOURCE = "source_file"


@dataclass(frozen=True)
class FileReport:
    table: str
    file: str
    status: str  # "accepted" or "quarantined"
    reason: str | None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int


def landed_files(landing: str, table: str) -> list[tuple[str, str]]:
    """(file name, fsspec URL) of each landed file of `table`, in name (= date) order."""
    fs, root = fsspec.core.url_to_fs(landing)
    paths = sorted(fs.glob(f"{root.rstrip('/')}/{table}/*.csv"))
    return [(path.rsplit("/", 1)[-1], fs.unstrip_protocol(path)) for path in paths]


def curate(
    landing: str, curated: Path, tables: Sequence[str] = tuple(CURATED_TABLES)
) -> list[FileReport]:
    unknown = [t for t in tables if t not in CURATED_TABLES]
    if unknown:
        raise ValueError(
            f"unknown table(s) {', '.join(unknown)}; known: {', '.join(CURATED_TABLES)}"
        )
    landed_by_table = {table: landed_files(landing, table) for table in tables}
    empty = [table for table, files in landed_by_table.items() if not files]
    if empty:
        where = ", ".join(f"{landing}/{table}/" for table in empty)
        raise FileNotFoundError(f"no landed files under {where}")
    reports: list[FileReport] = []
    with staged_directory(curated) as staging:
        for table, files in landed_by_table.items():
            reports += _curate_table(CURATED_TABLES[table], files, staging)
    return reports


def _curate_table(
    contract: TableContract, files: list[tuple[str, str]], staging: Path
) -> list[FileReport]:
    # Arrow parses and fsspec fetches without the GIL: reading one file per core at once uses
    # every core. map() keeps the files in name order.
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        loaded = list(pool.map(lambda file: _load(contract, *file), files))
    contents = {landed.name: data for data, landed in loaded}
    landed = [landed for _, landed in loaded]
    rows, offsets = _concat_rows(contract, landed)
    typed = typed_frame(contract, rows, arrow_strings=True)
    checked = check_typed(contract, typed, _unparsed(landed, offsets))
    valid = checked.valid.to_numpy()
    duplicate = np.zeros(len(valid), dtype=bool)
    accepted_keys = checked.typed.loc[valid, list(contract.natural_key)]
    duplicate[valid] = accepted_keys.duplicated(keep="first").to_numpy()
    quarantined = _quarantined_rows(contract, landed, contents, offsets, checked.reasons)
    reports = _reports(contract, landed, offsets, valid, duplicate)

    _write_partitions(contract, rows.filter(valid & ~duplicate), staging / contract.name)
    quarantine = staging / "quarantine" / contract.name
    (quarantine / "files").mkdir(parents=True)
    quarantined.to_parquet(quarantine / "rows.parquet", index=False)
    for file in landed:
        if file.problem:
            (quarantine / "files" / file.name).write_bytes(contents[file.name])
    (staging / "reports" / contract.name).mkdir(parents=True)
    for report in reports:
        text = json.dumps(asdict(report), indent=2, sort_keys=True) + "\n"
        (staging / "reports" / contract.name / f"{report.file}.json").write_text(text)
    return reports


def _load(contract: TableContract, name: str, url: str) -> tuple[bytes, LandedFile]:
    with fsspec.open(url, "rb") as handle:
        data: bytes = handle.read()
    return data, read_landed(contract, name, data)


def _concat_rows(contract: TableContract, landed: list[LandedFile]) -> tuple[pa.Table, np.ndarray]:
    """The typed rows of every readable file, in file order, as one Arrow table; and where each
    file's rows start in it (offsets[i]:offsets[i + 1] for landed[i], empty for a bad file)."""
    tables = [file.rows for file in landed if file.rows is not None]
    rows = pa.concat_tables(tables) if tables else contract.arrow_schema.empty_table()
    lengths = [0 if file.rows is None else file.rows.num_rows for file in landed]
    return rows.combine_chunks(), np.cumsum([0, *lengths])


def _unparsed(landed: list[LandedFile], offsets: np.ndarray) -> pd.Series:
    """Per row of the concatenated table, why a value did not parse ("" when all did)."""
    reasons = np.full(offsets[-1], "", dtype=object)
    for start, file in zip(offsets[:-1], landed, strict=True):
        for row, reason in file.unparsed.items():
            reasons[start + row] = reason
    return pd.Series(reasons, dtype=object)


def _quarantined_rows(
    contract: TableContract,
    landed: list[LandedFile],
    contents: dict[str, bytes],
    offsets: np.ndarray,
    reasons: pd.Series,
) -> pd.DataFrame:
    """Every rejected row with its reason: rows that broke the contract (raw values kept) and
    rows the CSV parser could not split (raw line kept)."""
    every_reason = reasons.to_numpy()
    invalid = []
    for start, end, file in zip(offsets[:-1], offsets[1:], landed, strict=True):
        positions = np.flatnonzero(every_reason[start:end] != "")
        if len(positions):
            # Rejected rows are rare: only their files are read again, as text.
            raw = read_text_rows(contract, contents[file.name]).iloc[positions]
            reason = every_reason[start + positions]
            invalid.append(raw.assign(**{SOURCE: file.name, "reason": reason}, raw_line=None))
    unparsed = pd.DataFrame(
        [
            {SOURCE: file.name, "reason": row.reason, "raw_line": row.text}
            for file in landed
            for row in file.rejected
        ],
        columns=[SOURCE, "reason", "raw_line"],
    )
    columns = [SOURCE, "reason", "raw_line", *contract.columns]
    rows = pd.concat([*invalid, unparsed], ignore_index=True).reindex(columns=columns)
    return rows.astype("string")


def _reports(
    contract: TableContract,
    landed: list[LandedFile],
    offsets: np.ndarray,
    valid: np.ndarray,
    duplicate: np.ndarray,
) -> list[FileReport]:
    """One report per landed file; the counts are taken once over all rows, not per file."""
    parsed = np.diff(offsets)
    source = np.repeat(np.arange(len(landed)), parsed)
    valid_counts = np.bincount(source[valid], minlength=len(landed))
    duplicate_counts = np.bincount(source[duplicate], minlength=len(landed))
    reports = []
    for index, file in enumerate(landed):
        if file.problem:
            reports.append(FileReport(contract.name, file.name, "quarantined", file.problem,
                                      file.unusable_rows, 0, file.unusable_rows, 0))  # fmt: skip
            continue
        rows_duplicate = int(duplicate_counts[index])
        reports.append(
            FileReport(
                table=contract.name,
                file=file.name,
                status="accepted",
                reason=None,
                rows_read=int(parsed[index]) + len(file.rejected),
                rows_accepted=int(valid_counts[index]) - rows_duplicate,
                rows_quarantined=int(parsed[index] - valid_counts[index]) + len(file.rejected),
                rows_duplicate=rows_duplicate,
            )
        )
    return reports


def _write_partitions(contract: TableContract, rows: pa.Table, directory: Path) -> None:
    """Write the accepted rows as Parquet with the pandas dtypes of the contract recorded, as
    pandas would write the typed frame: readers get Int64 and string columns back."""
    directory.mkdir(parents=True)
    pandas_schema = pa.Schema.from_pandas(
        typed_frame(contract, contract.arrow_schema.empty_table()), preserve_index=False
    )
    rows = rows.replace_schema_metadata(pandas_schema.metadata)
    if not contract.monthly:
        pq.write_table(rows, directory / f"{contract.name}.parquet")
        return
    month = rows.column("year").to_numpy() * 100 + rows.column("month").to_numpy()
    # Stable: within a month rows keep their landed order. Rows arrive nearly sorted (one file
    # per day), so each month is then a contiguous, zero-copy slice.
    order = np.argsort(month, kind="stable")
    if (order != np.arange(len(order))).any():
        rows, month = rows.take(order), month[order]
    keys, starts = np.unique(month, return_index=True)
    parts = {
        directory / f"{key // 100:04d}-{key % 100:02d}.parquet": rows.slice(start, end - start)
        for key, start, end in zip(keys, starts, [*starts[1:], len(month)], strict=True)
    }
    # The Parquet writer releases the GIL: one month per core at once.
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        list(pool.map(lambda path: pq.write_table(parts[path], path), parts))
