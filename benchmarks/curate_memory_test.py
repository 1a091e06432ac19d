import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks import curate_memory, full_year, testing

# Stands in for a packed ingest PEX: records each command it is given, in a file beside it;
# `curate` reports rows as the real one does.
FAKE_PEX_MAIN = """#!/usr/bin/env python3
import json, pathlib, sys
with pathlib.Path(__file__).with_name("seen").open("a") as seen:
    seen.write(" ".join(sys.argv[1:2]) + "\\n")
if sys.argv[1:2] == ["curate"]:
    print(json.dumps({"rows_read": 5}))
"""


def fake_pex(directory: Path) -> Path:
    return testing.fake_pex(directory, FAKE_PEX_MAIN)


def no_work(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the benchmark started")


@pytest.mark.parametrize("flag", ["--pex", "--baseline-pex"])
@pytest.mark.parametrize("given", ["missing", "empty", "main"])
def test_a_pex_that_is_not_built_is_refused_by_name_before_any_work(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    given: str,
) -> None:
    # Before, it was taken as given and failed minutes later, in a command whose output the
    # error hid (a CalledProcessError).
    monkeypatch.setattr(subprocess, "run", no_work)
    monkeypatch.setattr(full_year, "land", no_work)
    (tmp_path / "empty").mkdir()
    fake_pex(tmp_path / "built")
    # The PEX's directory is what is asked for, not its __main__.py.
    path = {"missing": "missing", "empty": "empty", "main": "built/__main__.py"}[given]
    with pytest.raises(SystemExit) as exited:
        curate_memory.main([flag, str(tmp_path / path)])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {flag}: {str(tmp_path / path)!r} is not a built artifact" in error
    assert error.rstrip().endswith(f"{curate_memory.BUILD} builds one")


def test_the_pexes_given_as_built_are_measured_without_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(curate_memory, "REPORTS", tmp_path / "reports")
    pex = fake_pex(tmp_path / "new" / "ingest.pex")
    baseline = fake_pex(tmp_path / "old" / "ingest.pex")
    curate_memory.main(["--runs", "1", "--pex", str(pex), "--baseline-pex", str(baseline)])
    # The year landed (two commands), the ten years written and the floor (both `-c`), then
    # curate on both landings; the baseline curates only.
    assert (pex / "seen").read_text().splitlines() == [
        "land",
        "land",
        "-c",
        "-c",
        "curate",
        "curate",
    ]
    assert (baseline / "seen").read_text().splitlines() == ["curate", "curate"]
    report = json.loads((tmp_path / "reports" / "curate_memory.json").read_text())
    assert set(report["medians"]) == {
        "floor", "curate year", "curate ten_years", "baseline year", "baseline ten_years"
    }  # fmt: skip
    assert report["rows_read"] == {"year": 5, "ten_years": 5}
