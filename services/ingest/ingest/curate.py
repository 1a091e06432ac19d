"""Reads landed flights CSVs, checks them against the contract and writes them as Parquet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from contracts.flights import check_columns
from storage.atomic import atomic_output


@dataclass(frozen=True)
class CurateReport:
    files_read: int
    rows_read: int
    output: str


def curate_files(sources: list[Path], output: Path) -> CurateReport:
    """Write the rows of all `sources` to `output` as one Parquet file; raise ContractViolation
    (writing nothing) if any file's columns do not match the flights contract."""
    if not sources:
        raise FileNotFoundError("no landed flights files to curate")
    frames = []
    for source in sources:
        frame = pd.read_csv(source)
        check_columns(frame.columns, source=str(source))
        frames.append(frame)
    curated = pd.concat(frames, ignore_index=True)
    with atomic_output(output) as tmp:
        curated.to_parquet(tmp, index=False)
    return CurateReport(files_read=len(sources), rows_read=len(curated), output=str(output))
