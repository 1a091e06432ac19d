"""Reads the curated tables the feature service needs, checking each file against its contract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.airports import AIRPORTS
from contracts.flights import FLIGHTS
from contracts.planes import PLANES
from contracts.table import ContractViolation, TableContract, check_typed, typed_frame
from contracts.weather import WEATHER
from feature.errors import InputError
from storage.inputs import directory_problem, file_problem

INPUTS: tuple[TableContract, ...] = (FLIGHTS, WEATHER, PLANES, AIRPORTS)


def read_table(curated: Path, contract: TableContract) -> pd.DataFrame:
    """Every Parquet file of `<curated>/<table>/`, in name order, as one frame. Each file must
    keep the contract ingest wrote it under: its columns and their types, every row's values,
    and no natural key twice in the table."""
    directory = curated / contract.name
    if not directory.is_dir():
        raise InputError(f"curated table {contract.name!r}: no directory {directory}")
    files = sorted(directory.glob("*.parquet"))
    if not files:
        raise InputError(f"curated table {contract.name!r}: no Parquet files in {directory}")
    frames: list[pd.DataFrame] = []
    for file in files:
        problem = file_problem(file)
        if problem:
            raise InputError(f"curated table {contract.name!r}: {file} {problem}")
        try:
            # The contract types the columns, not the pandas metadata the writer left (or did
            # not): a file without it, or with metadata pandas cannot parse, reads the same.
            data = pq.read_table(file).replace_schema_metadata(None)
            frames.append(_check_file(contract, file, data))
        except (pa.ArrowException, OSError) as error:
            raise InputError(
                f"curated table {contract.name!r}: cannot read {file}: {error}"
            ) from None
    table = pd.concat(frames, ignore_index=True)
    repeated = table.duplicated(subset=list(contract.natural_key))
    if repeated.any():
        first = table[repeated][list(contract.natural_key)].iloc[0].to_dict()
        raise InputError(
            f"curated table {contract.name!r}: {int(repeated.sum())} rows repeat the natural key "
            f"({', '.join(contract.natural_key)}) of another, the first {first}"
        )
    return table


def _check_file(contract: TableContract, file: Path, data: pa.Table) -> pd.DataFrame:
    """`data`'s rows with the contract's dtypes; InputError naming `file` unless they keep it."""
    source = f"curated table {contract.name!r}, {file}"
    try:
        contract.check_columns(data.column_names, source=source)
    except ContractViolation as error:
        raise InputError(str(error)) from None
    expected = contract.arrow_schema
    mistyped = [
        f"{field.name} is {data.schema.field(field.name).type}, not {field.type}"
        for field in expected
        if data.schema.field(field.name).type != field.type
    ]
    if mistyped:
        raise InputError(f"{source}: {'; '.join(mistyped)}")
    typed = typed_frame(contract, data)
    result = check_typed(contract, typed)
    if not result.valid.all():
        broken = result.reasons[~result.valid]
        raise InputError(
            f"{source}: {len(broken)} rows break the contract, the first (row {broken.index[0]}): "
            f"{broken.iloc[0]}"
        )
    return typed


def read_curated(curated: Path) -> dict[str, pd.DataFrame]:
    """flights, weather, planes and airports from the curated tree that ingest writes."""
    problem = directory_problem(curated)
    if problem:
        raise InputError(f"--curated {curated} {problem}")
    return {contract.name: read_table(curated, contract) for contract in INPUTS}
