"""Curates landed flights: contract check, quarantine, de-duplication, partitioned Parquet.

Output tree (replaced whole, atomically, on every run):

    <curated>/flights/<YYYY-MM>.parquet        accepted rows, typed, one file per month
    <curated>/quarantine/rows.parquet           rejected rows, raw, with the reason for each
    <curated>/quarantine/files/<name>           copies of files that could not be read at all
    <curated>/reports/<name>.json               per input file: rows read, accepted, quarantined,
                                                duplicate, and why
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import fsspec
import pandas as pd

from contracts.flights import FLIGHT_COLUMNS, NATURAL_KEY, apply_contract
from ingest.read_landed import LandedFile, read_landed
from storage.atomic import staged_directory

SOURCE = "source_file"


@dataclass(frozen=True)
class FileReport:
    file: str
    status: str  # "accepted" or "quarantined"
    reason: str | None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int


def landed_flights_files(landing: str) -> list[tuple[str, str]]:
    """(file name, fsspec URL) of each landed flights file, in name (= date) order."""
    fs, root = fsspec.core.url_to_fs(landing)
    paths = sorted(fs.glob(f"{root.rstrip('/')}/flights/*.csv"))
    return [(path.rsplit("/", 1)[-1], fs.unstrip_protocol(path)) for path in paths]


def curate(landing: str, curated: Path) -> list[FileReport]:
    files = landed_flights_files(landing)
    if not files:
        raise FileNotFoundError(f"no landed flights files under {landing}/flights/")
    landed = []
    for name, url in files:
        with fsspec.open(url, "rb") as handle:
            landed.append(read_landed(name, handle.read()))
    raw_rows = _raw_rows(landed)
    checked = apply_contract(raw_rows[list(FLIGHT_COLUMNS)])
    accepted = checked.typed[checked.valid]
    duplicate = accepted.duplicated(list(NATURAL_KEY), keep="first")
    quarantined = _quarantined_rows(landed, raw_rows, checked.reasons)

    reports = [_report(file, raw_rows, checked.valid, duplicate, quarantined) for file in landed]
    with staged_directory(curated) as staging:
        _write_partitions(accepted[~duplicate], staging / "flights")
        (staging / "quarantine" / "files").mkdir(parents=True)
        quarantined.to_parquet(staging / "quarantine" / "rows.parquet", index=False)
        for (name, url), file in zip(files, landed, strict=True):
            if file.problem:
                with fsspec.open(url, "rb") as source:
                    (staging / "quarantine" / "files" / name).write_bytes(source.read())
        (staging / "reports").mkdir()
        for report in reports:
            text = json.dumps(asdict(report), indent=2, sort_keys=True) + "\n"
            (staging / "reports" / f"{report.file}.json").write_text(text)
    return reports


def _raw_rows(landed: list[LandedFile]) -> pd.DataFrame:
    frames = [file.rows.assign(**{SOURCE: file.name}) for file in landed if file.rows is not None]
    if not frames:
        return pd.DataFrame(columns=[*FLIGHT_COLUMNS, SOURCE])
    return pd.concat(frames, ignore_index=True)


def _quarantined_rows(
    landed: list[LandedFile], raw_rows: pd.DataFrame, reasons: pd.Series
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
    columns = [SOURCE, "reason", "raw_line", *FLIGHT_COLUMNS]
    rows = pd.concat([invalid, unparsed], ignore_index=True).reindex(columns=columns)
    return rows.astype("string")


def _report(
    file: LandedFile,
    raw_rows: pd.DataFrame,
    valid: pd.Series,
    duplicate: pd.Series,
    quarantined: pd.DataFrame,
) -> FileReport:
    if file.problem:
        return FileReport(file.name, "quarantined", file.problem, file.unusable_rows, 0,
                          file.unusable_rows, 0)  # fmt: skip
    mine = raw_rows[SOURCE] == file.name
    accepted_here = valid & mine
    duplicates = int(duplicate[accepted_here[accepted_here].index].sum())
    rows_quarantined = int((quarantined[SOURCE] == file.name).sum())
    rows_accepted = int(accepted_here.sum()) - duplicates
    return FileReport(
        file=file.name,
        status="accepted",
        reason=None,
        rows_read=int(mine.sum()) + len(file.rejected),
        rows_accepted=rows_accepted,
        rows_quarantined=rows_quarantined,
        rows_duplicate=duplicates,
    )


def _write_partitions(flights: pd.DataFrame, directory: Path) -> None:
    directory.mkdir(parents=True)
    for (year, month), rows in flights.groupby(["year", "month"], sort=True):
        rows.to_parquet(directory / f"{year:04d}-{month:02d}.parquet", index=False)
