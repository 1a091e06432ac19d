from pathlib import Path

import pandas as pd
import pytest

from contracts.flights import FLIGHT_COLUMNS, ContractViolation
from ingest.cli import main
from ingest.curate import curate_files

ROW = {
    "year": 2013, "month": 1, "day": 1, "dep_time": 517, "sched_dep_time": 515, "dep_delay": 2,
    "arr_time": 830, "sched_arr_time": 819, "arr_delay": 11, "carrier": "UA", "flight": 1545,
    "tailnum": "N14228", "origin": "EWR", "dest": "IAH", "air_time": 227, "distance": 1400,
    "hour": 5, "minute": 15, "time_hour": "2013-01-01 05:00:00",
}  # fmt: skip


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_curate_file_writes_every_row_as_parquet(tmp_path: Path) -> None:
    first = write_csv(tmp_path / "2013-01-01.csv", [ROW, {**ROW, "flight": 1714}])
    second = write_csv(tmp_path / "2013-01-02.csv", [{**ROW, "day": 2}])
    report = curate_files([first, second], tmp_path / "out" / "flights.parquet")
    assert (report.files_read, report.rows_read) == (2, 3)
    curated = pd.read_parquet(tmp_path / "out" / "flights.parquet")
    assert list(curated.columns) == list(FLIGHT_COLUMNS)
    assert curated["flight"].tolist() == [1545, 1714, 1545]


def test_a_file_breaking_the_contract_writes_nothing(tmp_path: Path) -> None:
    row = {k: v for k, v in ROW.items() if k != "tailnum"}
    source = write_csv(tmp_path / "flights.csv", [row])
    with pytest.raises(ContractViolation, match="missing column\\(s\\) tailnum"):
        curate_files([source], tmp_path / "out" / "flights.parquet")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["flights.csv"]


def test_cli_reports_the_problem_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flights").mkdir()
    write_csv(tmp_path / "flights" / "2013-01-01.csv", [{**ROW, "gate": "B12"}])
    output = tmp_path / "flights.parquet"
    exit_code = main(["curate", "--landing", str(tmp_path), "--output", str(output)])
    assert exit_code == 2
    assert "unexpected column(s) gate" in capsys.readouterr().err
