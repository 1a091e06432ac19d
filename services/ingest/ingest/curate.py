"""Curates landed tables: contract check, quarantine, de-duplication, partitioned Parquet.

Output tree, replaced whole and atomically by every run that accepts rows of every table:

    <curated>/<table>/<YYYY-MM>.parquet          accepted rows, typed, one file per month
    <curated>/<table>/<table>.parquet            (tables without dates: planes)
    <curated>/quarantine/<table>/rows.parquet    rejected rows, raw, with the reason for each
    <curated>/quarantine/<table>/files/<name>     copies of files that could not be read at all
    <curated>/reports/<table>/<name>.json        per input file: rows read, accepted,
                                                 quarantined and duplicate, and why

A run that accepts no row of some table leaves `<curated>` as it was and puts its tree, reports
and quarantine included, in `<curated>.rejected` instead (NothingAccepted).

Memory does not grow with the landing: files are read and checked in batches of about
`BATCH_BYTES` of CSV, and accepted rows are spilled to disk, one file per output file. Duplicates
are dropped per output file at the end, which finds them all because a natural key falls in one
output file: flights' key holds the year and month, and weather's time_hour is tied by the
contract to the local year and month. Reference tables (one output file holding every daily
snapshot) are de-duplicated as they are read instead, against the keys seen so far: as many as
the table has distinct rows. Peak memory is about one batch plus the largest month.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.table import TableContract, check_typed, typed_frame
from contracts.tables import CURATED_TABLES
from ingest.read_landed import LandedFile, read_landed, read_text_rows
from storage.atomic import exclusive_lock, replace_directory, staged_directory
from storage.remote import storage_errors

SOURCE = "source_file"
# Landed CSV read, checked and held in memory at once (with its Arrow and pandas copies).
BATCH_BYTES = 8 * 2**20
# How long a run waits for another run writing the same output before it gives up.
LOCK_TIMEOUT_SECONDS = 600.0
# In the spilled rows: the position of the row's landed file in the table's list of files.
FILE_INDEX = "__landed_file"


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


@dataclass(frozen=True)
class LandedSource:
    name: str
    url: str
    size: int


class NothingAccepted(Exception):
    """No row of some table was accepted; the curated output was left as it was."""

    def __init__(self, tables: list[str], curated: Path, kept: Path, reports: list[FileReport]):
        self.reports = reports
        super().__init__(
            f"no row of {', '.join(tables)} was accepted (see the reports): {curated} was left "
            f"as it was; this run's reports and quarantine are in {kept}"
        )


def landed_files(landing: str, table: str) -> list[LandedSource]:
    """Each landed file of `table`, in name (= date) order."""
    with storage_errors("list", landing):
        fs, root = fsspec.core.url_to_fs(landing)
        found = fs.glob(f"{root.rstrip('/')}/{table}/*.csv", detail=True)
    return [
        LandedSource(path.rsplit("/", 1)[-1], fs.unstrip_protocol(path), int(found[path]["size"]))
        for path in sorted(found)
    ]


def rejected_run(curated: Path) -> Path:
    """Where a run that accepted nothing of some table leaves its tree."""
    return curated.with_name(f"{curated.name}.rejected")


def lock_file(curated: Path) -> Path:
    """Beside the output, not in it: the output is replaced whole."""
    return curated.with_name(f".{curated.name}.lock")


def curate(
    landing: str,
    curated: Path,
    tables: Sequence[str] = tuple(CURATED_TABLES),
    *,
    batch_bytes: int = BATCH_BYTES,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
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
    nothing_accepted: list[str] = []
    with (
        exclusive_lock(lock_file(curated), timeout=lock_timeout),
        staged_directory(curated) as staging,
        tempfile.TemporaryDirectory(prefix=f".{curated.name}.spill-", dir=curated.parent) as spill,
    ):
        for table, files in landed_by_table.items():
            table_reports = _curate_table(
                CURATED_TABLES[table], files, staging, Path(spill) / table, batch_bytes
            )
            reports += table_reports
            if not any(report.rows_accepted for report in table_reports):
                nothing_accepted.append(table)
        _keep_other_tables(curated, staging, tables)
        if nothing_accepted:
            # Raising makes staged_directory keep the previous output.
            replace_directory(staging, rejected_run(curated))
            raise NothingAccepted(nothing_accepted, curated, rejected_run(curated), reports)
        shutil.rmtree(rejected_run(curated), ignore_errors=True)
    return reports


def _keep_other_tables(curated: Path, staging: Path, tables: Sequence[str]) -> None:
    """The tables this run does not curate, as the previous output holds them (their Parquet,
    quarantine and reports), so that `--tables flights` re-curates flights and drops nothing.
    Hard links: curated files are replaced whole, never changed in place."""
    for table in CURATED_TABLES:
        if table in tables:
            continue
        for part in (Path(table), Path("quarantine", table), Path("reports", table)):
            if (curated / part).is_dir():
                shutil.copytree(curated / part, staging / part, copy_function=os.link)


def _curate_table(
    contract: TableContract,
    files: list[LandedSource],
    staging: Path,
    spill: Path,
    batch_bytes: int,
) -> list[FileReport]:
    quarantine = staging / "quarantine" / contract.name
    (quarantine / "files").mkdir(parents=True)
    # Reference tables only: the keys accepted so far.
    seen: set[Hashable] | None = None if contract.monthly else set()
    reports: list[FileReport] = []
    with (
        # Arrow parses and fsspec fetches without the GIL: reading one file per core at once
        # uses every core. map() keeps the files in name order.
        ThreadPoolExecutor(max_workers=os.cpu_count()) as pool,
        pq.ParquetWriter(quarantine / "rows.parquet", _quarantine_schema(contract)) as rejected,
    ):
        accepted = _Spill(contract, spill)
        for batch in _batches(files, batch_bytes):
            loaded = list(pool.map(lambda file: _load(contract, file), batch))
            reports += _curate_batch(
                contract, loaded, len(reports), quarantine, rejected, accepted, seen
            )
        duplicates = accepted.write_deduplicated(staging / contract.name, len(reports))
    reports = [
        replace(report, rows_accepted=report.rows_accepted - int(extra),
                rows_duplicate=report.rows_duplicate + int(extra))
        for report, extra in zip(reports, duplicates, strict=True)
    ]  # fmt: skip
    (staging / "reports" / contract.name).mkdir(parents=True)
    for report in reports:
        text = json.dumps(asdict(report), indent=2, sort_keys=True) + "\n"
        (staging / "reports" / contract.name / f"{report.file}.json").write_text(text)
    return reports


def _curate_batch(
    contract: TableContract,
    loaded: list[tuple[bytes, LandedFile]],
    first_file: int,
    quarantine: Path,
    rejected: pq.ParquetWriter,
    accepted: _Spill,
    seen: set[Hashable] | None,
) -> list[FileReport]:
    """Check a batch of loaded files (the table's files from position `first_file` on): their
    rejected rows to `rejected`, unreadable files to `quarantine`, accepted rows to `accepted`.
    Returns their reports, with duplicates counted only as far as `seen` tells."""
    contents = {landed.name: data for data, landed in loaded}
    landed = [landed for _, landed in loaded]
    rows, offsets = _concat_rows(contract, landed)
    typed = typed_frame(contract, rows, arrow_strings=True)
    checked = check_typed(contract, typed, _unparsed(landed, offsets))
    valid = checked.valid.to_numpy()
    duplicate = _seen_before(contract, checked.typed, valid, seen)
    quarantined = _quarantined_rows(contract, landed, contents, offsets, checked.reasons)
    if len(quarantined):
        rejected.write_table(
            pa.Table.from_pandas(quarantined, schema=rejected.schema, preserve_index=False)
        )
    for file in landed:
        if file.problem:
            (quarantine / "files" / file.name).write_bytes(contents[file.name])
    source = np.repeat(np.arange(first_file, first_file + len(landed)), np.diff(offsets))
    keep = valid & ~duplicate
    accepted.add(rows.filter(keep), source[keep])
    return _reports(contract, landed, offsets, valid, duplicate)


def _batches(files: list[LandedSource], batch_bytes: int) -> Iterator[list[LandedSource]]:
    """Consecutive files of about `batch_bytes` in all; a larger file is a batch of its own."""
    batch: list[LandedSource] = []
    size = 0
    for file in files:
        if batch and size + file.size > batch_bytes:
            yield batch
            batch, size = [], 0
        batch.append(file)
        size += file.size
    if batch:
        yield batch


def _load(contract: TableContract, source: LandedSource) -> tuple[bytes, LandedFile]:
    with storage_errors("read", source.url), fsspec.open(source.url, "rb") as handle:
        data: bytes = handle.read()
    return data, read_landed(contract, source.name, data)


def _seen_before(
    contract: TableContract, typed: pd.DataFrame, valid: np.ndarray, seen: set[Hashable] | None
) -> np.ndarray:
    """Per row, whether it is a valid row whose natural key an earlier valid row had; `seen`
    (updated) holds the keys of earlier batches. None: leave duplicates to the spill."""
    duplicate = np.zeros(len(valid), dtype=bool)
    if seen is None:
        return duplicate
    keys = typed.loc[valid, list(contract.natural_key)].itertuples(index=False, name=None)
    repeated = []
    for key in keys:
        repeated.append(key in seen)
        seen.add(key)
    duplicate[valid] = repeated
    return duplicate


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


class _Spill:
    """Accepted rows on disk, a directory per output file holding a Parquet file per batch (no
    writer stays open: each would hold its column buffers), each row with the position of its
    landed file (FILE_INDEX)."""

    def __init__(self, contract: TableContract, directory: Path) -> None:
        self.contract = contract
        self.directory = directory
        self.batches = 0

    def add(self, rows: pa.Table, source: np.ndarray) -> None:
        rows = rows.append_column(FILE_INDEX, pa.array(source, pa.int32()))
        for name, part in _output_files(self.contract, rows).items():
            (self.directory / name).mkdir(parents=True, exist_ok=True)
            pq.write_table(part, self.directory / name / f"{self.batches:08d}.parquet")
        self.batches += 1

    def write_deduplicated(self, directory: Path, files: int) -> np.ndarray:
        """Write each output file into `directory` without the repeats of a natural key (the
        first row kept) and return how many rows of each landed file were dropped so."""
        directory.mkdir(parents=True)
        dropped = np.zeros(files, dtype=np.int64)
        names = sorted(p.name for p in self.directory.iterdir()) if self.directory.exists() else []
        for name in names:
            parts = sorted((self.directory / name).iterdir())
            rows = pa.concat_tables(pq.read_table(part) for part in parts)
            duplicate = _repeats(rows, self.contract.natural_key)
            source = rows.column(FILE_INDEX).to_numpy()
            dropped += np.bincount(source[duplicate], minlength=files)
            _write_output_file(
                self.contract, rows.filter(~duplicate).drop_columns([FILE_INDEX]), directory / name
            )
        return dropped


def _repeats(rows: pa.Table, key: tuple[str, ...]) -> np.ndarray:
    """Per row, whether an earlier row has the same `key`; in Arrow, without a Python object
    per value."""
    position = "__position"
    first = (
        rows.select(list(key))
        .append_column(position, pa.array(np.arange(rows.num_rows)))
        .group_by(list(key), use_threads=False)
        .aggregate([(position, "min")])
    )
    repeated = np.ones(rows.num_rows, dtype=bool)
    repeated[first.column(f"{position}_min").to_numpy()] = False
    return repeated


def _output_files(contract: TableContract, rows: pa.Table) -> dict[str, pa.Table]:
    """`rows` split by the output file they belong to: one per (year, month) of a monthly
    table, else one for the table. Rows keep their order."""
    if rows.num_rows == 0:
        return {}
    if not contract.monthly:
        return {f"{contract.name}.parquet": rows}
    month = rows.column("year").to_numpy() * 100 + rows.column("month").to_numpy()
    # Stable: within a month rows keep their landed order. Rows arrive nearly sorted (one file
    # per day), so each month is then a contiguous, zero-copy slice.
    order = np.argsort(month, kind="stable")
    if (order != np.arange(len(order))).any():
        rows, month = rows.take(order), month[order]
    keys, starts = np.unique(month, return_index=True)
    ends = [*starts[1:], len(month)]
    return {
        f"{key // 100:04d}-{key % 100:02d}.parquet": rows.slice(start, end - start)
        for key, start, end in zip(keys, starts, ends, strict=True)
    }


def _write_output_file(contract: TableContract, rows: pa.Table, path: Path) -> None:
    """Write accepted rows as Parquet with the pandas dtypes of the contract recorded, as
    pandas would write the typed frame: readers get Int64 and string columns back."""
    pandas_schema = pa.Schema.from_pandas(
        typed_frame(contract, contract.arrow_schema.empty_table()), preserve_index=False
    )
    pq.write_table(rows.replace_schema_metadata(pandas_schema.metadata), path)


def _quarantine_schema(contract: TableContract) -> pa.Schema:
    """Every column of a quarantined row is text (pandas' string dtype once read back)."""
    columns = [SOURCE, "reason", "raw_line", *contract.columns]
    empty = pd.DataFrame(columns=columns).astype("string")
    return pa.Schema.from_pandas(empty, preserve_index=False)
