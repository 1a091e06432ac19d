import datetime as dt
import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import curate as curate_module
from ingest.curate import FileReport, curate
from ingest.land import land


@pytest.fixture(scope="module")
def two_real_days(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("landing")
    land(dt.date(2013, 1, 31), dt.date(2013, 2, 1), str(landing), ("flights",))
    return landing


def copy_landing(source: Path, destination: Path) -> Path:
    for file in (source / "flights").iterdir():
        (destination / "flights").mkdir(parents=True, exist_ok=True)
        (destination / "flights" / file.name).write_bytes(file.read_bytes())
    return destination


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def assert_rows_add_up(report: FileReport) -> None:
    parts = report.rows_accepted + report.rows_quarantined + report.rows_duplicate
    assert report.rows_read == parts, report


def test_real_days_are_accepted_typed_and_partitioned_by_month(
    two_real_days: Path, tmp_path: Path
) -> None:
    reports = curate(str(two_real_days), tmp_path / "curated", ("flights",))
    assert [(r.file, r.status, r.rows_quarantined) for r in reports] == [
        ("2013-01-31.csv", "accepted", 0),
        ("2013-02-01.csv", "accepted", 0),
    ]
    assert sorted(p.name for p in (tmp_path / "curated" / "flights").iterdir()) == [
        "2013-01.parquet",
        "2013-02.parquet",
    ]
    curated = pd.read_parquet(tmp_path / "curated" / "flights")
    assert len(curated) == sum(r.rows_read for r in reports)
    assert str(curated["flight"].dtype) == "Int64"
    assert str(curated["dep_time"].dtype) == "float64"
    assert curated["carrier"].dtype == pd.StringDtype("python")
    assert str(curated["time_hour"].dtype) == "datetime64[ns, UTC]"


def test_invalid_rows_are_quarantined_with_a_reason_and_duplicates_counted(
    two_real_days: Path, tmp_path: Path
) -> None:
    landing = copy_landing(two_real_days, tmp_path / "landing")
    day = landing / "flights" / "2013-01-31.csv"
    lines = day.read_text().splitlines()
    fields = lines[1].split(",")
    fields[1] = "13"  # month
    lines[1] = ",".join(fields)
    lines.append(lines[2])  # an exact re-delivery of a row: same natural key
    day.write_text("\n".join(lines) + "\n")

    reports = curate(str(landing), tmp_path / "curated", ("flights",))

    report = reports[0]
    assert (report.rows_quarantined, report.rows_duplicate) == (1, 1)
    assert_rows_add_up(report)
    quarantined = pd.read_parquet(tmp_path / "curated" / "quarantine" / "flights" / "rows.parquet")
    (reason,) = quarantined["reason"]
    assert "month: in_range(1, 12) (got 13)" in reason
    assert quarantined["source_file"].tolist() == ["2013-01-31.csv"]


def test_a_value_that_does_not_parse_is_quarantined_naming_its_column(
    two_real_days: Path, tmp_path: Path
) -> None:
    landing = copy_landing(two_real_days, tmp_path / "landing")
    day = landing / "flights" / "2013-02-01.csv"
    lines = day.read_text().splitlines()
    for row, (column, value) in enumerate([(10, "abc"), (3, "nan")], start=1):
        fields = lines[row].split(",")
        fields[column] = value  # flight, dep_time
        lines[row] = ",".join(fields)
    day.write_text("\n".join(lines) + "\n")

    reports = curate(str(landing), tmp_path / "curated", ("flights",))

    report = reports[1]
    assert (report.status, report.rows_quarantined, report.rows_accepted) == (
        "accepted", 2, report.rows_read - 2,
    )  # fmt: skip
    quarantined = pd.read_parquet(tmp_path / "curated" / "quarantine" / "flights" / "rows.parquet")
    assert quarantined["reason"].tolist() == [
        "flight: not an integer (got 'abc')",
        "dep_time: not a number (got 'nan')",
    ]
    assert quarantined["flight"].tolist()[0] == "abc"  # the raw value, kept
    curated = pd.read_parquet(tmp_path / "curated" / "flights")
    assert len(curated) == sum(r.rows_accepted for r in reports)
    assert curated["flight"].notna().all() and curated["dep_time"].notna().sum() > 0


def test_bad_files_are_quarantined_whole_and_reported_without_a_crash(
    two_real_days: Path, tmp_path: Path
) -> None:
    landing = copy_landing(two_real_days, tmp_path / "landing")
    flights = landing / "flights"
    good = (flights / "2013-01-31.csv").read_bytes()
    (flights / "2013-03-01.csv").write_bytes(b"")
    (flights / "2013-03-02.csv").write_bytes(good.replace(b",", b";"))
    (flights / "2013-03-03.csv").write_bytes(b"\x89PNG\x00\x01garbage")
    (flights / "2013-03-04.csv").write_bytes(good[: len(good) // 2])

    reports = {r.file: r for r in curate(str(landing), tmp_path / "curated", ("flights",))}

    assert reports["2013-03-01.csv"].reason == "empty file"
    assert "wrong delimiter ';'" in (reports["2013-03-02.csv"].reason or "")
    assert "binary content" in (reports["2013-03-03.csv"].reason or "")
    truncated = reports["2013-03-04.csv"]
    assert truncated.status == "accepted" and truncated.rows_quarantined == 1
    for report in reports.values():
        assert_rows_add_up(report)
    kept = sorted(
        p.name for p in (tmp_path / "curated" / "quarantine" / "flights" / "files").iterdir()
    )
    assert kept == ["2013-03-01.csv", "2013-03-02.csv", "2013-03-03.csv"]
    on_disk = json.loads(
        (tmp_path / "curated" / "reports" / "flights" / "2013-03-02.csv.json").read_text()
    )
    assert (
        on_disk["status"] == "quarantined" and on_disk["rows_read"] == on_disk["rows_quarantined"]
    )


def test_rerunning_on_the_same_landing_changes_nothing(two_real_days: Path, tmp_path: Path) -> None:
    curate(str(two_real_days), tmp_path / "curated", ("flights",))
    first = tree_digest(tmp_path / "curated")
    curate(str(two_real_days), tmp_path / "curated", ("flights",))
    assert tree_digest(tmp_path / "curated") == first


def test_a_run_killed_mid_write_leaves_the_previous_output(
    two_real_days: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    curate(str(two_real_days), tmp_path / "curated", ("flights",))
    before = tree_digest(tmp_path / "curated")

    def die_after_first_partition(contract: object, rows: pa.Table, directory: Path) -> None:
        directory.mkdir(parents=True)
        pq.write_table(rows.slice(0, 10), directory / "2013-01.parquet")
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(curate_module, "_write_partitions", die_after_first_partition)
    with pytest.raises(KeyboardInterrupt):
        curate(str(two_real_days), tmp_path / "curated", ("flights",))
    assert tree_digest(tmp_path / "curated") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]


def test_an_empty_landing_zone_is_an_error_naming_the_tables(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no landed files under .*/weather/"):
        curate(str(tmp_path), tmp_path / "curated", ("weather",))
    assert not (tmp_path / "curated").exists()


def test_an_unknown_table_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown table\\(s\\) gates"):
        curate(str(tmp_path), tmp_path / "curated", ("gates",))


def test_weather_planes_and_airports_are_curated_with_their_own_contracts(
    tmp_path: Path,
) -> None:
    landing = tmp_path / "landing"
    tables = ("weather", "planes", "airports")
    # 12 February 2013 holds upstream's 1048 mph wind reading at EWR.
    land(dt.date(2013, 2, 12), dt.date(2013, 2, 13), str(landing), tables)
    reports = curate(str(landing), tmp_path / "curated", tables)

    for report in reports:
        assert_rows_add_up(report)
    weather = {r.file: r for r in reports if r.table == "weather"}
    assert weather["2013-02-12.csv"].rows_quarantined == 1
    reasons = pd.read_parquet(tmp_path / "curated" / "quarantine" / "weather" / "rows.parquet")
    assert reasons["reason"].str.contains("wind_speed: in_range").tolist() == [True]
    # Planes land as a daily snapshot: the second day repeats every tail number.
    planes = [r for r in reports if r.table == "planes"]
    assert planes[1].rows_duplicate == planes[1].rows_read == planes[0].rows_accepted
    curated_planes = pd.read_parquet(tmp_path / "curated" / "planes" / "planes.parquet")
    assert curated_planes["tailnum"].is_unique and len(curated_planes) == 3322
    # Airports too: one file, every FAA code once, the IANA zone kept (missing for three).
    airports = [r for r in reports if r.table == "airports"]
    assert [(r.rows_accepted, r.rows_duplicate) for r in airports] == [(1458, 0), (0, 1458)]
    curated_airports = pd.read_parquet(tmp_path / "curated" / "airports" / "airports.parquet")
    assert curated_airports["faa"].is_unique and len(curated_airports) == 1458
    by_code = curated_airports.set_index("faa")["tzone"]
    assert (by_code["IAH"], by_code["HNL"]) == ("America/Chicago", "Pacific/Honolulu")
    assert by_code.isna().sum() == 3
