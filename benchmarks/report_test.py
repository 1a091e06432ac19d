import argparse
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks.machine import describe
from benchmarks.report import commit, markdown_table, repeated_runs, save, save_or_refuse, stamped


def test_a_report_starts_with_when_and_where_it_was_measured() -> None:
    report = stamped(runs=[2.0, 1.0], median=1.5)
    assert list(report) == ["date", "machine", "runs", "median"]
    assert report["machine"] == describe()
    measured = datetime.fromisoformat(report["date"])
    assert measured.tzinfo is not None and measured.utcoffset() == UTC.utcoffset(measured)
    assert abs((datetime.now(UTC) - measured).total_seconds()) < 60
    assert report["runs"] == [2.0, 1.0] and report["median"] == 1.5


def test_a_saved_report_is_the_json_it_returns_in_a_directory_it_creates(tmp_path: Path) -> None:
    path = tmp_path / "build" / "benchmarks" / "case.json"
    text = save({"runs": [2.0, 1.0], "case": "one"}, path)
    assert path.read_text() == text + "\n"
    assert json.loads(text) == {"runs": [2.0, 1.0], "case": "one"}


def test_a_report_saved_again_replaces_the_first_whole(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    save({"runs": [1.0, 2.0, 3.0]}, path)
    save({"runs": [1.0]}, path)
    assert json.loads(path.read_text()) == {"runs": [1.0]}
    assert [p.name for p in tmp_path.iterdir()] == ["case.json"]


def test_a_report_that_cannot_be_saved_leaves_nothing_aside(tmp_path: Path) -> None:
    (tmp_path / "case.json").mkdir()
    with pytest.raises(IsADirectoryError):
        save({"runs": [1.0]}, tmp_path / "case.json")
    assert [p.name for p in tmp_path.iterdir()] == ["case.json"]
    assert not any((tmp_path / "case.json").iterdir())


def test_an_output_that_cannot_take_the_report_is_named_as_given_with_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "case.json").mkdir()
    with pytest.raises(SystemExit) as exited:
        save_or_refuse({"runs": []}, tmp_path / "case.json", argparse.ArgumentParser())
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --output: cannot save the report as {tmp_path / 'case.json'}: " in error
    assert "Is a directory" in error and ".saving" not in error
    save_or_refuse({"runs": []}, tmp_path / "other.json", argparse.ArgumentParser())
    assert json.loads((tmp_path / "other.json").read_text()) == {"runs": []}


def test_the_commit_is_named_where_git_knows_it_and_unknown_elsewhere(tmp_path: Path) -> None:
    assert commit(root=tmp_path) == "unknown"  # not a checkout
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    assert commit(root=tmp_path) == "unknown"  # no commit yet
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], cwd=tmp_path, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert head.startswith(commit(root=tmp_path)) and len(commit(root=tmp_path)) >= 7
    assert commit("no-such-rev", root=tmp_path) == "unknown"


def test_repeated_runs_save_the_report_before_each_run_and_with_the_summary_at_the_end(
    tmp_path: Path,
) -> None:
    output = tmp_path / "case.json"
    saved_before: list[object] = []

    def one_run(run: int) -> dict[str, int]:
        saved_before.append(json.loads(output.read_text())["runs"])
        return {"run": run}

    def count(runs: list[dict[str, int]]) -> int:
        return len(runs)

    assert repeated_runs(3, one_run, count, output, argparse.ArgumentParser()) == 3
    assert saved_before == [[], [{"run": 1}], [{"run": 1}, {"run": 2}]]
    report = json.loads(output.read_text())
    assert report["runs"] == [{"run": 1}, {"run": 2}, {"run": 3}]
    assert report["medians"] == 3 and "date" in report and "command" in report


def test_repeated_runs_refuse_an_output_they_cannot_save_before_the_first_run(
    tmp_path: Path,
) -> None:
    (tmp_path / "case.json").mkdir()

    def one_run(run: int) -> int:
        raise AssertionError("a run started")

    with pytest.raises(SystemExit) as exited:
        repeated_runs(3, one_run, len, tmp_path / "case.json", argparse.ArgumentParser())
    assert exited.value.code == 2


def test_a_markdown_table_aligns_its_figures_right_and_its_first_column_left() -> None:
    table = markdown_table(
        ["server", "p50 (ms)", "errors"], [["bare", "1.2", 0], ["bentoml", "3.4", 2]]
    )
    assert table.splitlines() == [
        "| server | p50 (ms) | errors |",
        "| --- | ---: | ---: |",
        "| bare | 1.2 | 0 |",
        "| bentoml | 3.4 | 2 |",
    ]
