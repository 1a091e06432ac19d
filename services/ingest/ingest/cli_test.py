import json
from pathlib import Path

import pytest

from contracts.tables import CURATED_TABLES
from ingest.cli import main
from ingest.upstream import TABLE_FILES
from loopback.processes import modules_loaded_by_commands

ONE_DAY = ["--start", "2013-02-01", "--end", "2013-02-01"]


def test_without_tables_every_table_is_landed_then_curated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing, curated = tmp_path / "landing", tmp_path / "curated"
    assert main(["land", *ONE_DAY, "--landing", str(landing)]) == 0
    assert sorted(p.name for p in landing.iterdir()) == sorted(TABLE_FILES)
    capsys.readouterr()
    assert main(["curate", "--landing", str(landing), "--curated", str(curated)]) == 0
    tables = sorted(p.name for p in curated.iterdir() if p.name not in ("quarantine", "reports"))
    assert tables == sorted(CURATED_TABLES)
    summary = json.loads(capsys.readouterr().out)
    assert summary["files"] == len(CURATED_TABLES)
    assert summary["quarantined_files"] == []


def test_help_refused_arguments_and_refused_outputs_import_none_of_the_work(
    tmp_path: Path,
) -> None:
    # Each answers before pandas, pyarrow and the table contracts load; landing a table does not.
    landing = str(tmp_path / "landing")
    commands = [
        ["--help"],
        ["land", "--start", "2013-02-30", "--end", "2013-03-01", "--landing", landing],
        ["curate", "--landing", landing, "--curated", landing],
        ["curate", "--landing", landing, "--curated", "c", "--lock-timeout", "-1"],
        ["land", *ONE_DAY, "--landing", landing, "--tables", "airlines"],
    ]
    outcomes, stderr = modules_loaded_by_commands(
        "ingest.cli", commands, ["pandas", "pyarrow", "pandera"]
    )
    assert outcomes == [
        (0, []),
        (2, []),
        (2, []),
        (2, []),
        (0, ["pandas", "pyarrow"]),
    ]
    assert "argument --start: '2013-02-30' is not a date (YYYY-MM-DD)" in stderr
    assert f"--curated {landing!r} overlaps --landing {landing!r}" in stderr
    assert "'-1' is not a finite number of seconds >= 0" in stderr
    assert (tmp_path / "landing" / "airlines" / "2013-02-01.csv").is_file()
