import json
import os
import sys
from pathlib import Path

import pytest

from benchmarks.ci import monorepo, run

MIRROR = "/nonexistent/tf-plugins"


def measure(monkeypatch: pytest.MonkeyPatch, output: Path, *flags: str) -> list[str | None]:
    """run.main() with the monorepo's cases replaced by one that records the TF_PLUGIN_DIR the
    cases would see; the caller's shell has the provider's mirror set."""
    seen: list[str | None] = []

    def one_run(scratch: Path, rev: str) -> dict[str, float]:
        seen.append(os.environ.get("TF_PLUGIN_DIR"))
        return {"cold_full": 1.0}

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
