"""For any landed file, every row read is accepted, quarantined with a reason or counted as a
duplicate: the report's counts add up and match what curate wrote."""

import csv
import io
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.flights import FLIGHT_COLUMNS
from contracts.testing import LANDED_ROWS
from ingest.curate import NothingAccepted, curate

VALID_ROW = LANDED_ROWS["flights"].split(",")
# Values that break, cannot be typed, are missing or are edge cases, for any column.
ODD_VALUES = ["", "NA", "13", "-1", "2400", "abc", "nan", "0x10", "1.5", "ZZ", " ", "N1 2", "é"]


@st.composite
def landed_file(draw: st.DrawFn) -> bytes:
    """A flights CSV: rows near the valid one (some values replaced), repeats of earlier rows
    (duplicates) and rows with too few or too many fields."""
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["changed", "changed", "repeat", "short", "long"]))
        if kind == "repeat" and rows:
            rows.append(list(draw(st.sampled_from(rows))))
            continue
        row = list(VALID_ROW)
        row[FLIGHT_COLUMNS.index("flight")] = str(draw(st.integers(1, 9999)))
        for _ in range(draw(st.integers(0, 3))):
            column = draw(st.integers(0, len(row) - 1))
            row[column] = draw(st.sampled_from(ODD_VALUES) | st.text(max_size=5))
        if kind == "short":
            row = row[: draw(st.integers(1, len(row) - 1))]
        elif kind == "long":
            row = [*row, "extra"]
        rows.append(row)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(FLIGHT_COLUMNS)
    writer.writerows(rows)
    return text.getvalue().encode()


@settings(max_examples=40)
@given(st.lists(landed_file(), min_size=1, max_size=3))
def test_per_file_counts_add_up_and_match_the_output(files: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        landing = Path(scratch) / "landing"
        (landing / "flights").mkdir(parents=True)
        for day, data in enumerate(files, start=1):
            (landing / "flights" / f"2013-01-{day:02d}.csv").write_bytes(data)
        curated = Path(scratch) / "curated"
        try:
            reports = curate(str(landing), curated, ("flights",))
        except NothingAccepted as nothing:
            reports, curated = nothing.reports, Path(scratch) / "curated.rejected"
            assert not (Path(scratch) / "curated").exists()

        assert len(reports) == len(files)
        for report in reports:
            parts = report.rows_accepted + report.rows_quarantined + report.rows_duplicate
            assert report.rows_read == parts, report
        quarantine = pd.read_parquet(curated / "quarantine" / "flights" / "rows.parquet")
        assert (quarantine["reason"].str.len() > 0).all()
        assert len(quarantine) == sum(r.rows_quarantined for r in reports if r.status == "accepted")
        accepted = sum(r.rows_accepted for r in reports)
        written = list((curated / "flights").glob("*.parquet"))
        assert sum(len(pd.read_parquet(path)) for path in written) == accepted
