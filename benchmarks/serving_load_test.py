from pathlib import Path

import pytest

from benchmarks import serving_load


def never_started() -> None:
    raise AssertionError("the benchmark started")


def test_an_output_that_cannot_take_the_report_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before, the report was saved after every run (10 minutes), and the error named the file
    # written aside, not the one given.
    monkeypatch.setattr(serving_load, "promoted", never_started)
    output = tmp_path / "serving.json"
    output.mkdir()
    with pytest.raises(SystemExit) as exited:
        serving_load.main(["--quick", "--output", str(output)])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --output: cannot save the report as {output}: Is a directory" in error
    assert ".saving" not in error


@pytest.mark.parametrize(
    ("argv", "report"), [([], "serving_load.json"), (["--quick"], "serving_load-quick.json")]
)
def test_without_an_output_the_report_goes_under_build_benchmarks_of_the_checkout(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    report: str,
) -> None:
    # docs/benchmarks.md says every benchmark leaves build/benchmarks/<name>.json; this one left
    # nothing unless given --output. A quick run's goes beside it, so it replaces no measurement.
    # Shown by the path it refuses, before any work.
    monkeypatch.setattr(serving_load, "promoted", never_started)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "build" / "benchmarks" / report).mkdir(parents=True)
    with pytest.raises(SystemExit):
        serving_load.main(argv)
    error = capsys.readouterr().err
    assert f"cannot save the report as build/benchmarks/{report}: Is a directory" in error
