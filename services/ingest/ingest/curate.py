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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import fsspec
import pandas as pd

from contracts.table import TableContract, apply_contract
from contracts.tables import CURATED_TABLES
from ingest.read_landed import LandedFile, read_landed
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
    contents = {}
    for name, url in files:
        with fsspec.open(url, "rb") as handle:
            contents[name] = handle.read()
    landed = [read_landed(contract, name, data) for name, data in contents.items()]
    raw_rows = _raw_rows(contract, landed)
    checked = apply_contract(contract, raw_rows[list(contract.columns)])
    accepted = checked.typed[checked.valid]
    duplicate = accepted.duplicated(list(contract.natural_key), keep="first")
    quarantined = _quarantined_rows(contract, landed, raw_rows, checked.reasons)
    reports = _reports(contract, landed, raw_rows, checked.valid, duplicate, quarantined)

    _write_partitions(contract, accepted[~duplicate], staging / contract.name)
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


def _raw_rows(contract: TableContract, landed: list[LandedFile]) -> pd.DataFrame:
    frames = [file.rows.assign(**{SOURCE: file.name}) for file in landed if file.rows is not None]
    if not frames:
        return pd.DataFrame(columns=[*contract.columns, SOURCE], dtype=object)
    return pd.concat(frames, ignore_index=True)


def _quarantined_rows(
    contract: TableContract, landed: list[LandedFile], raw_rows: pd.DataFrame, reasons: pd.Series
) -> pd.DataFrame:
    """Every rejected row with its reason: rows that broke the contract (raw values kept) and
    rows the CSV parser could not split (raw line kept)."""
    invalid = raw_rows[reasons != ""].assign(reason=reasons[reasons != ""], raw_line=None)
    unparsed = pd.DataFrame(
        [
            {SOURCE: file.name, "reason": row.reason, "raw_line": row.text}
            for file in landed
            for row in file.rejected
        ],
        columns=[SOURCE, "reason", "raw_line"],
    )
    columns = [SOURCE, "reason", "raw_line", *contract.columns]
    rows = pd.concat([invalid, unparsed], ignore_index=True).reindex(columns=columns)
    return rows.astype("string")


def _reports(
    contract: TableContract,
    landed: list[LandedFile],
    raw_rows: pd.DataFrame,
    valid: pd.Series,
    duplicate: pd.Series,
    quarantined: pd.DataFrame,
) -> list[FileReport]:
    """One report per landed file; the counts are taken once over all rows, not per file."""
    source = raw_rows[SOURCE]
    parsed = source.value_counts()
    accepted = source[valid]
    accepted_counts = accepted.value_counts()
    duplicates = accepted[duplicate.to_numpy()].value_counts()
    quarantined_rows = quarantined[SOURCE].value_counts()
    reports = []
    for file in landed:
        if file.problem:
            reports.append(FileReport(contract.name, file.name, "quarantined", file.problem,
                                      file.unusable_rows, 0, file.unusable_rows, 0))  # fmt: skip
            continue
        rows_duplicate = int(duplicates.get(file.name, 0))
        reports.append(
            FileReport(
                table=contract.name,
                file=file.name,
                status="accepted",
                reason=None,
                rows_read=int(parsed.get(file.name, 0)) + len(file.rejected),
                rows_accepted=int(accepted_counts.get(file.name, 0)) - rows_duplicate,
                rows_quarantined=int(quarantined_rows.get(file.name, 0)),
                rows_duplicate=rows_duplicate,
            )
        )
    return reports


def _write_partitions(contract: TableContract, rows: pd.DataFrame, directory: Path) -> None:
    directory.mkdir(parents=True)
    if not contract.monthly:
        rows.to_parquet(directory / f"{contract.name}.parquet", index=False)
        return
    for (year, month), part in rows.groupby(["year", "month"], sort=True):
        part.to_parquet(directory / f"{year:04d}-{month:02d}.parquet", index=False)
