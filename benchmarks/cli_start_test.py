import argparse
import json
from pathlib import Path

import pytest

from benchmarks import cli_start, testing
from benchmarks.arguments import built_pex
from benchmarks.cli_start import BUILD, built_artifacts, main, start_seconds, summary

# Stands in for a packed PEX: answers `--help`, and as an interpreter (PEX_INTERPRETER=1)
# reports that it was asked to be one, in a file beside it.
FAKE_PEX_MAIN = """#!/usr/bin/env python3
import os, pathlib, sys
seen = pathlib.Path(__file__).with_name("seen")
bare = "bare " if os.environ.get("PEX_INTERPRETER") == "1" else ""
with seen.open("a") as record:
    record.write(bare + " ".join(sys.argv[1:]) + "\\n")
"""


def fake_pex(directory: Path) -> Path:
    return testing.fake_pex(directory, FAKE_PEX_MAIN)


def test_the_service_pexes_in_dist_are_found_and_nothing_else(tmp_path: Path) -> None:
    train = fake_pex(tmp_path / "services.train" / "train.pex")
    serve = fake_pex(tmp_path / "services.serve" / "serve.pex")
    (tmp_path / "services.feature" / "feature.pex").mkdir(parents=True)  # no __main__.py
    fake_pex(tmp_path / "tools.dvc" / "dvc.pex")
    assert built_artifacts(tmp_path) == [serve, train]


def test_each_run_starts_the_command_line_then_an_empty_interpreter(tmp_path: Path) -> None:
    artifact = fake_pex(tmp_path / "services.train" / "train.pex")
    seconds = start_seconds(artifact)
    assert (artifact / "seen").read_text().splitlines() == ["--help", "bare -c pass"]
    assert seconds["help"] > 0 and seconds["bare"] > 0


def test_the_summary_takes_medians_and_divides_by_the_empty_interpreter() -> None:
    runs = [
        {"train": {"help": h, "bare": b}, "serve": {"help": 0.3, "bare": 0.1}}
        for h, b in ((1.2, 0.2), (4.0, 0.3), (1.0, 0.25))
    ]
    medians = summary(runs)
    assert medians["train"] == {"help": 1.2, "bare": 0.25, "help_over_bare": 1.2 / 0.25}
    assert medians["serve"]["help_over_bare"] == pytest.approx(3.0)


def test_an_artifact_that_is_not_built_is_named_with_the_command_that_builds_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=f"no __main__.py in it\\): {BUILD}"):
        built_pex(str(tmp_path), BUILD)
    with pytest.raises(argparse.ArgumentTypeError, match="^'' is not a built artifact"):
        built_pex("", BUILD)


def test_a_run_measures_the_artifacts_given_and_saves_their_medians(tmp_path: Path) -> None:
    # The test runs where no dist/ is: only the artifact given is measured.
    artifact = fake_pex(tmp_path / "old" / "train.pex")
    output = tmp_path / "report.json"
    assert main(["--runs", "3", "--artifact", str(artifact), "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert len(report["runs"]) == 3
    assert list(report["medians"]) == [str(artifact)]
    # One start of each kind to warm up, then three runs.
    assert (artifact / "seen").read_text().splitlines() == ["--help", "bare -c pass"] * 4


def test_with_nothing_built_the_benchmark_says_how_to_build_before_any_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--runs", "1"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "no service artifact in " in err
    assert err.rstrip().endswith(f"{BUILD} builds them")


def test_without_an_output_the_report_is_saved_under_build_benchmarks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/benchmarks.md says every benchmark leaves build/benchmarks/<name>.json; this one left
    # nothing unless given --output.
    monkeypatch.setattr(cli_start, "REPORTS", tmp_path / "build" / "benchmarks")
    artifact = fake_pex(tmp_path / "old" / "train.pex")
    assert main(["--runs", "1", "--artifact", str(artifact)]) == 0
    report = json.loads((tmp_path / "build" / "benchmarks" / "cli_start.json").read_text())
    assert list(report["medians"]) == [str(artifact)]
