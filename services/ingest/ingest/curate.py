"""Reads one upstream flights CSV, checks it against the contract and writes it as Parquet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from contracts.flights import check_columns
from storage.atomic import atomic_output


@dataclass(frozen=True)
class CurateReport:
    source: str
    rows_read: int
    output: str


def curate_file(source: Path, output: Path) -> CurateReport:
    """Write `source` to `output` as Parquet; raise ContractViolation (writing nothing) if its
    columns do not match the flights contract."""
    frame = pd.read_csv(source)
    check_columns(frame.columns, source=str(source))
    with atomic_output(output) as tmp:
        frame.to_parquet(tmp, index=False)
    return CurateReport(source=str(source), rows_read=len(frame), output=str(output))
