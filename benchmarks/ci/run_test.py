import json
import os
import sys
from pathlib import Path

import pytest

from benchmarks.ci import monorepo, run

MIRROR = "/nonexistent/tf-plugins"


def measure(
    monkeypatch: pytest.MonkeyPatch, output: Path | str, *flags: str, fail_run: int = 0
) -> list[str | None]:
    """run.main() with the monorepo's cases replaced by one that records the TF_PLUGIN_DIR the
    cases would see (the caller's shell has the provider's mirror set) and, if `fail_run` is
    set, fails that run."""
    seen: list[str | None] = []

    def one_run(scratch: Path, rev: str) -> dict[str, float]:
        seen.append(os.environ.get("TF_PLUGIN_DIR"))
        if len(seen) == fail_run:
            raise RuntimeError("the run failed")
        return {"cold_full": float(len(seen))}

    monkeypatch.setattr(monorepo, "one_run", one_run)
    monkeypatch.setenv("TF_PLUGIN_DIR", MIRROR)
    monkeypatch.setattr(
        sys, "argv", ["run", "--runs", "2", "--monorepo-only", "--output", str(output), *flags]
    )
    run.main()
    return seen


def test_the_aws_tests_skip_unless_asked_whatever_the_callers_shell_has(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert measure(monkeypatch, tmp_path / "default.json") == [None, None]
    assert json.loads((tmp_path / "default.json").read_text())["aws_tests"] is False


def test_with_aws_tests_the_cases_see_the_mirror_and_the_report_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert measure(monkeypatch, tmp_path / "aws.json", "--with-aws-tests") == [MIRROR, MIRROR]
    assert json.loads((tmp_path / "aws.json").read_text())["aws_tests"] is True


@pytest.mark.parametrize("place", ["", "a-file/ci.json", "a-directory"])
def test_an_output_that_cannot_take_the_report_is_refused_before_any_run(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    place: str,
) -> None:
    # Before, the report was written after the runs (an hour or more) and lost when it failed.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-directory").mkdir()
    with pytest.raises(SystemExit) as exit:
        measure(monkeypatch, place)
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert "argument --output: " in error
    assert (place or "empty: give a file's path") in error
    assert ".saving" not in error  # the file written aside is no name the user gave
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory", "a-file"]
    assert not any((tmp_path / "a-directory").iterdir())


def test_each_run_is_saved_before_the_next_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    output = tmp_path / "ci.json"
    with pytest.raises(RuntimeError, match="the run failed"):
        measure(monkeypatch, output, fail_run=2)
    report = json.loads(output.read_text())
    assert report["runs"] == [{"cold_full": 1.0}]
    assert report["medians"] == {"cold_full": 1.0}
    assert report["runs_asked"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ci.json"]


def test_a_rev_that_names_no_commit_is_refused_by_name_before_any_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before, it was found by the first clone's checkout, after the clone, with git's message
    # swallowed.
    with pytest.raises(SystemExit) as exit:
        measure(monkeypatch, tmp_path / "ci.json", "--rev", "no-such-rev")
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert "argument --rev: 'no-such-rev' names no commit of this checkout" in error
    assert not (tmp_path / "ci.json").exists()
