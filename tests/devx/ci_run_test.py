"""`.ci/run` fails when any of its checks fails, and still runs the tests after a check fails;
`.ci/explore` fails when it finds no test to explore.

The script runs as it is, in a directory laid out like the repo, with stand-ins for what it
calls (`./pants`, the pre-commit PEX, tools/artifacts.py) that log each call and fail when told
to; the real commands are each tested elsewhere.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.build.repo_copy import SANDBOX_ROOT

PANTS = """#!/usr/bin/env bash
echo "pants $*" >>calls.log
case "$*" in
  *"lint check test"*)
    for arg in "$@"; do [[ "$arg" == --test-report-dir=* ]] && dir=${arg#*=}; done
    mkdir -p "$dir"
    echo '<testsuite tests="3" failures="0" errors="0" skipped="1"/>' >"$dir/suite.xml"
    exit "${FAIL_TESTS:-0}" ;;
  *"run //:dvc"*) echo "{}" ;;
esac
"""
PRE_COMMIT = """import os, sys
open("calls.log", "a").write("pre-commit " + " ".join(sys.argv[1:]) + "\\n")
sys.exit(int(os.environ.get("FAIL_HOOKS", "0")))
"""
ARTIFACTS = """import os, sys
sys.stdin.read()
open("calls.log", "a").write("artifacts " + " ".join(sys.argv[1:]) + "\\n")
sys.exit(int(os.environ.get("FAIL_LOCK", "0")))
"""


def executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def ci_run(tmp_path: Path, **failing: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(SANDBOX_ROOT / ".ci" / "run", repo / ".ci" / "run")
    executable(repo / "pants", PANTS)
    executable(repo / "dist" / "tools" / "pre-commit.pex", PRE_COMMIT)
    executable(repo / "tools" / "artifacts.py", ARTIFACTS)
    # Present, so the script neither installs qemu-user nor looks for a provider mirror.
    executable(tmp_path / "bin" / "qemu-x86_64", "#!/bin/sh\necho qemu-x86_64 version 0\n")
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "TF_PLUGIN_DIR": str(tmp_path / "mirror"),
        **failing,
    }
    run = subprocess.run(
        ["bash", ".ci/run"], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    return run, (repo / "calls.log").read_text().splitlines()


def test_every_check_passing_passes_and_counts_the_tests(tmp_path: Path) -> None:
    run, calls = ci_run(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "pytest: 2 passed, 0 failed, 1 skipped" in run.stdout
    assert "pre-commit run --all-files --show-diff-on-failure --color=never" in calls


@pytest.mark.parametrize("failing", ["FAIL_HOOKS", "FAIL_LOCK", "FAIL_TESTS"])
def test_a_failing_check_fails_the_run_after_the_tests_ran(tmp_path: Path, failing: str) -> None:
    run, calls = ci_run(tmp_path, **{failing: "1"})
    assert run.returncode != 0
    assert any("lint check test" in call for call in calls), calls


def test_explore_fails_when_it_finds_no_property_based_test(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(SANDBOX_ROOT / ".ci" / "explore", repo / ".ci" / "explore")
    executable(repo / "pants", PANTS)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    # Before, an empty selection ran `./pants test --force` on nothing, which passes.
    run = subprocess.run(
        ["bash", ".ci/explore"], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1
    assert "no test file with a property-based test found" in run.stderr
    assert not (repo / "calls.log").exists()
