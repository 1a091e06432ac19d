"""Reads the curated tables the feature service needs, checking each against its contract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from contracts.airports import AIRPORTS
from contracts.flights import FLIGHTS
from contracts.planes import PLANES
from contracts.table import ContractViolation, TableContract
from contracts.weather import WEATHER
from feature.errors import InputError

INPUTS: tuple[TableContract, ...] = (FLIGHTS, WEATHER, PLANES, AIRPORTS)


def read_table(curated: Path, contract: TableContract) -> pd.DataFrame:
    """Every Parquet file of `<curated>/<table>/`, in name order, as one frame."""
    directory = curated / contract.name
    if not directory.is_dir():
        raise InputError(f"curated table {contract.name!r}: no directory {directory}")
    files = sorted(directory.glob("*.parquet"))
    if not files:
        raise InputError(f"curated table {contract.name!r}: no Parquet files in {directory}")
    frames = []
    for file in files:
        try:
            frames.append(pd.read_parquet(file))
        except (pa.ArrowException, OSError) as error:
            raise InputError(
                f"curated table {contract.name!r}: cannot read {file}: {error}"
            ) from None
    table = pd.concat(frames, ignore_index=True)
    try:
        contract.check_columns(table.columns, source=f"curated table {contract.name!r}")
    except ContractViolation as error:
        raise InputError(str(error)) from None
    return table


def read_curated(curated: Path) -> dict[str, pd.DataFrame]:
    """flights, weather, planes and airports from the curated tree that ingest writes."""
    if not curated.is_dir():
        raise InputError(f"--curated {curated} is not a directory")
    return {contract.name: read_table(curated, contract) for contract in INPUTS}
