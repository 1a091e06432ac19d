import codecs
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import curate as curate_module
from ingest.cli import EXIT_LOCKED, EXIT_NOTHING_ACCEPTED, EXIT_STORAGE, EXIT_USAGE, main
from ingest.curate import FileReport, NothingAccepted, curate
from ingest.land import land
from loopback.processes import inherited_pythonpath, wait_until
from storage.digest import tree_sha256
from storage.testing import file_size_limit


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
    # Each month's file holds that month's flights, and only those.
    for month in (1, 2):
        part = pd.read_parquet(tmp_path / "curated" / "flights" / f"2013-{month:02d}.parquet")
        assert len(part) > 0
        assert set(zip(part["year"], part["month"], strict=True)) == {(2013, month)}
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
    first = tree_sha256(tmp_path / "curated")
    curate(str(two_real_days), tmp_path / "curated", ("flights",))
    assert tree_sha256(tmp_path / "curated") == first


def test_a_run_killed_mid_write_leaves_the_previous_output(
    two_real_days: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    curate(str(two_real_days), tmp_path / "curated", ("flights",))
    before = tree_sha256(tmp_path / "curated")

    def die_after_first_file(contract: object, rows: pa.Table, path: Path) -> None:
        pq.write_table(rows.slice(0, 10), path)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(curate_module, "_write_output_file", die_after_first_file)
    with pytest.raises(KeyboardInterrupt):
        curate(str(two_real_days), tmp_path / "curated", ("flights",))
    assert tree_sha256(tmp_path / "curated") == before
    # No staged, spilled or retired tree is left; the lock file stays (removing it would race).
    assert sorted(p.name for p in tmp_path.iterdir()) == [".curated.lock", "curated"]


def test_a_curated_tree_with_no_room_is_a_storage_error_and_the_previous_one_kept(
    two_real_days: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    curated = tmp_path / "curated"
    command = ["curate", "--landing", str(two_real_days), "--curated", str(curated)]
    assert main([*command, "--tables", "flights"]) == 0
    before = tree_sha256(curated)
    capsys.readouterr()
    # A real write failure (EFBIG past the file size limit), as a full disk fails it: before,
    # pyarrow's traceback.
    with file_size_limit(1024):
        assert main([*command, "--tables", "flights"]) == EXIT_STORAGE
    assert capsys.readouterr().err == (
        f"ingest: error: cannot write {curated}: File too large; {curated} is left as it was\n"
    )
    assert tree_sha256(curated) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".curated.lock", "curated"]


def test_an_empty_landing_zone_is_an_error_naming_the_tables(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no landed files under .*/weather/"):
        curate(str(tmp_path), tmp_path / "curated", ("weather",))
    assert not (tmp_path / "curated").exists()


COMMANDS = {
    "land": ["land", "--start", "2013-01-01", "--end", "2013-01-01", "--tables", "airlines"],
    "curate": ["curate", "--curated", "curated", "--tables", "weather"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("landing", "named"),
    # Joined with a table's directory, "" was the file system's root and "s3://" a local `s3:`.
    [("", "--landing is empty"), ("s3://", "--landing 's3://' names no bucket or host")],
)
def test_a_landing_that_names_no_place_is_a_usage_error_and_nothing_is_written(
    command: str,
    landing: str,
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*COMMANDS[command], "--landing", landing]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith(f"ingest: error: {named}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "failed"),
    [("land", "write gcs://b/landing/airlines/2013-01-01.csv"), ("curate", "list gcs://b/landing")],
)
def test_a_storage_that_fails_is_named_with_its_error_not_a_traceback(
    command: str,
    failed: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # fsspec knows gcs:// by name; its client (gcsfs) is not installed: an ImportError.
    monkeypatch.chdir(tmp_path)
    assert main([*COMMANDS[command], "--landing", "gcs://b/landing"]) == EXIT_STORAGE
    assert capsys.readouterr().err.startswith(f"ingest: error: cannot {failed}: ImportError: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("curated", ["landing", "landing/flights", "."])
def test_a_curated_tree_over_its_landing_is_refused_and_the_landing_kept(
    curated: str,
    two_real_days: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Replaced whole, such an output took the landed files with it (exit 0).
    landing = copy_landing(two_real_days, tmp_path / "landing")
    before = tree_sha256(landing)
    monkeypatch.chdir(tmp_path)
    assert main(["curate", "--landing", "landing", "--curated", curated]) == EXIT_USAGE
    assert f"--curated '{curated}'" in capsys.readouterr().err
    assert tree_sha256(landing) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landing"]


def test_an_empty_curated_path_is_refused_by_name(
    two_real_days: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Path("") is "."; the output check then named '.', a path nobody typed.
    with pytest.raises(SystemExit) as exited:
        main(["curate", "--landing", str(two_real_days), "--curated", ""])
    assert exited.value.code == EXIT_USAGE
    assert "argument --curated: empty: give a path" in capsys.readouterr().err


def test_a_curated_tree_where_a_file_is_is_refused_and_the_file_kept(
    two_real_days: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "curated").write_text("keep me")
    arguments = ["curate", "--landing", str(two_real_days), "--curated", str(tmp_path / "curated")]
    assert main(arguments) == EXIT_USAGE
    assert "is not a directory, and this output is a directory" in capsys.readouterr().err
    assert (tmp_path / "curated").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]


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


def test_curating_some_tables_keeps_the_others_as_they_were(tmp_path: Path) -> None:
    # Replaced whole, the tree lost every table --tables did not name (exit 0).
    landing, curated = tmp_path / "landing", tmp_path / "curated"
    land(dt.date(2013, 2, 12), dt.date(2013, 2, 12), str(landing), ("weather", "planes"))
    curate(str(landing), curated, ("weather", "planes"))
    weather = tree_sha256(curated, "weather", "quarantine/weather", "reports/weather")
    land(dt.date(2013, 2, 13), dt.date(2013, 2, 13), str(landing), ("planes",))
    curate(str(landing), curated, ("planes",))
    assert tree_sha256(curated, "weather", "quarantine/weather", "reports/weather") == weather
    assert {p.name for p in (curated / "reports" / "planes").iterdir()} == {
        "2013-02-12.csv.json",
        "2013-02-13.csv.json",
    }


def test_a_landing_whose_files_are_all_quarantined_keeps_the_previous_output(
    two_real_days: Path, tmp_path: Path
) -> None:
    """It crashed with "zip() argument 3 is longer than arguments 1-2" and wrote no report."""
    curate(str(two_real_days), tmp_path / "curated", ("flights",))
    before = tree_sha256(tmp_path / "curated")
    header = (two_real_days / "flights" / "2013-01-31.csv").read_bytes().splitlines()[0]
    flights = tmp_path / "landing" / "flights"
    flights.mkdir(parents=True)
    (flights / "2013-03-01.csv").write_bytes(b"")
    (flights / "2013-03-02.csv").write_bytes(header + b"\n")
    (flights / "2013-03-03.csv").write_bytes(b"\x89PNG\x00\x01garbage")

    with pytest.raises(NothingAccepted, match="no row of flights was accepted") as raised:
        curate(str(tmp_path / "landing"), tmp_path / "curated", ("flights",))

    assert tree_sha256(tmp_path / "curated") == before
    assert [(r.file, r.status) for r in raised.value.reports] == [
        ("2013-03-01.csv", "quarantined"),
        ("2013-03-02.csv", "quarantined"),
        ("2013-03-03.csv", "quarantined"),
    ]
    rejected = tmp_path / "curated.rejected"
    assert sorted(p.name for p in (rejected / "reports" / "flights").iterdir()) == [
        "2013-03-01.csv.json", "2013-03-02.csv.json", "2013-03-03.csv.json",
    ]  # fmt: skip
    files = rejected / "quarantine" / "flights" / "files"
    assert (files / "2013-03-03.csv").read_bytes() == b"\x89PNG\x00\x01garbage"
    assert sorted(p.name for p in files.iterdir()) == [
        "2013-03-01.csv", "2013-03-02.csv", "2013-03-03.csv",
    ]  # fmt: skip
    # The next run that accepts rows replaces the output and drops the rejected run's tree.
    curate(str(two_real_days), tmp_path / "curated", ("flights",))
    assert not rejected.exists()


def test_well_formed_files_whose_every_row_breaks_the_contract_exit_3(
    two_real_days: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = copy_landing(two_real_days, tmp_path / "landing")
    for day in (landing / "flights").iterdir():
        header, *rows = day.read_text().splitlines()
        year_13 = [",".join(["13", *row.split(",")[1:]]) for row in rows]
        day.write_text("\n".join([header, *year_13]) + "\n")
    status = main(["curate", "--landing", str(landing), "--curated", str(tmp_path / "curated"),
                   "--tables", "flights"])  # fmt: skip
    assert status == EXIT_NOTHING_ACCEPTED
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["rows_accepted"] == 0 and summary["rows_quarantined"] == summary["rows_read"] > 0
    assert "no row of flights was accepted" in err and "curated.rejected" in err
    assert not (tmp_path / "curated").exists()
    quarantined = pd.read_parquet(
        tmp_path / "curated.rejected" / "quarantine" / "flights" / "rows.parquet"
    )
    assert len(quarantined) == summary["rows_read"]
    assert quarantined["reason"].str.contains("year: in_range").all()


def test_a_file_with_a_byte_order_mark_is_accepted(two_real_days: Path, tmp_path: Path) -> None:
    landing = copy_landing(two_real_days, tmp_path / "landing")
    day = landing / "flights" / "2013-01-31.csv"
    day.write_bytes(codecs.BOM_UTF8 + day.read_bytes())
    report = curate(str(landing), tmp_path / "curated", ("flights",))[0]
    assert (report.status, report.rows_accepted) == ("accepted", report.rows_read)


def test_small_batches_give_the_output_and_counts_of_one_batch(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    tables = ("flights", "weather", "planes")
    land(dt.date(2013, 1, 31), dt.date(2013, 2, 2), str(landing), tables)
    # A re-delivery of a day, landed later: its rows are duplicates of an earlier batch's.
    redelivered = (landing / "flights" / "2013-01-31.csv").read_bytes()
    (landing / "flights" / "2013-02-03.csv").write_bytes(redelivered)

    whole = curate(str(landing), tmp_path / "whole", tables)
    per_file = curate(str(landing), tmp_path / "per-file", tables, batch_bytes=1)

    assert per_file == whole
    assert tree_sha256(tmp_path / "per-file") == tree_sha256(tmp_path / "whole")
    by_file = {(r.table, r.file): r for r in per_file}
    again = by_file["flights", "2013-02-03.csv"]
    assert again.rows_duplicate == again.rows_read > 0
    assert by_file["planes", "2013-02-02.csv"].rows_duplicate == 3322
    for report in per_file:
        assert_rows_add_up(report)


# A curate run that, once it holds the lock and is about to write its output, waits for the
# test to create the file `release`.
CURATE_HOLDING_THE_LOCK = """
import sys
import time
from pathlib import Path

from ingest import curate as curate_module

landing, curated, started, release = sys.argv[1:]
write = curate_module._write_output_file


def wait_for_release(*args):
    Path(started).touch()
    while not Path(release).exists():
        time.sleep(0.05)
    write(*args)


curate_module._write_output_file = wait_for_release
curate_module.curate(landing, Path(curated), ("flights",))
"""


def test_two_curate_processes_on_one_output_run_one_after_the_other(
    two_real_days: Path, tmp_path: Path
) -> None:
    curated, started, release = tmp_path / "curated", tmp_path / "started", tmp_path / "release"
    log = tmp_path / "first.log"
    with open(log, "wb") as output:
        first = subprocess.Popen(
            [sys.executable, "-c", CURATE_HOLDING_THE_LOCK,
             str(two_real_days), str(curated), str(started), str(release)],
            env={**os.environ, "PYTHONPATH": inherited_pythonpath()},
            stderr=output,
        )  # fmt: skip
    try:
        wait_until(
            started.exists, what="the first run at its output", timeout=120, interval=0.05,
            process=first, log=log,
        )  # fmt: skip
        command = ["curate", "--landing", str(two_real_days), "--curated", str(curated),
                   "--tables", "flights"]  # fmt: skip
        second = subprocess.run(
            [sys.executable, "-m", "ingest.cli", *command, "--lock-timeout", "0.5"],
            env={**os.environ, "PYTHONPATH": inherited_pythonpath()},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == EXIT_LOCKED, second.stderr
        assert f"{tmp_path / '.curated.lock'} is held by pid {first.pid}" in second.stderr
        assert not curated.exists()  # the first run has not swapped its output in yet
    finally:
        release.touch()
        first.wait(timeout=120)
    assert first.returncode == 0, log.read_text()
    first_output = tree_sha256(curated)
    # Once the lock is free, a run goes ahead and writes the same output.
    assert main([*command, "--lock-timeout", "60"]) == 0
    assert tree_sha256(curated) == first_output


@pytest.mark.parametrize("timeout", ["nan", "-1", "inf", "soon"])
def test_a_lock_timeout_that_is_not_a_finite_wait_is_a_usage_error(
    two_real_days: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    command = ["curate", "--landing", str(two_real_days), "--curated", str(tmp_path / "curated")]
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--lock-timeout", timeout])
    assert exit_.value.code == EXIT_USAGE
    assert f"argument --lock-timeout: {timeout!r} is not a" in capsys.readouterr().err
    assert not (tmp_path / "curated").exists()


@pytest.mark.parametrize(
    ("day", "why"), [("2013-1-1", ""), ("2013-02-30", ": day is out of range for month")]
)
def test_a_land_day_that_is_not_a_calendar_date_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], day: str, why: str
) -> None:
    landing = tmp_path / "landing"
    with pytest.raises(SystemExit) as exit_:
        main(["land", "--start", day, "--end", "2013-03-01", "--landing", str(landing)])
    assert exit_.value.code == EXIT_USAGE
    assert f"argument --start: {day!r} is not a date (YYYY-MM-DD){why}\n" in capsys.readouterr().err
    assert not landing.exists()


def test_a_snapshot_cut_short_inside_its_last_value_does_not_replace_the_next_days_row(
    tmp_path: Path,
) -> None:
    landing = tmp_path / "landing"
    land(dt.date(2013, 1, 1), dt.date(2013, 1, 2), str(landing), ("airports",))
    first = landing / "airports" / "2013-01-01.csv"
    assert first.read_bytes().endswith(
        b"\nZYP,Penn Station,40.7505,-73.9935,35,-5,A,America/New_York\n"
    )
    # Cut inside the last value: "America/New" is a well-formed time zone name of no zone.
    first.write_bytes(first.read_bytes()[: -len("_York\n")])

    reports = curate(str(landing), tmp_path / "curated", ("airports",))

    airports = pd.read_parquet(tmp_path / "curated" / "airports" / "airports.parquet")
    assert airports.set_index("faa").at["ZYP", "tzone"] == "America/New_York"
    assert (reports[0].rows_quarantined, reports[1].rows_quarantined) == (1, 0)
    quarantined = pd.read_parquet(tmp_path / "curated" / "quarantine" / "airports" / "rows.parquet")
    assert quarantined["raw_line"].tolist() == [
        "ZYP,Penn Station,40.7505,-73.9935,35,-5,A,America/New"
    ]
    assert quarantined["reason"].str.contains("no line break").all()
