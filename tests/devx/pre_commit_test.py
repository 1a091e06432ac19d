"""The git hooks in .pre-commit-config.yaml: local-only, in step with Pants, passing on the repo.

The slow test runs the hooks on files it adds to a copy of the working tree, with the PEX that
developers use (tools:pre-commit). Its `language: python` hooks install their pinned packages from
PyPI into pre-commit's cache (~/.cache/pre-commit) on the first run; nothing comes from GitHub.
Whether the repo's own files pass the hooks is CI's to check (.ci/run runs them on every file):
this test's result is cached on the hooks' configuration, not on those files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.build.repo_copy import SANDBOX_ROOT, RepoCopy
from tests.lockfiles import DEFAULT_LOCK, DEVTOOLS_LOCK, locked_version

PRE_COMMIT_PEX = SANDBOX_ROOT / "tools" / "pre-commit.pex"


def hooks() -> list[dict[str, Any]]:
    config = yaml.safe_load((SANDBOX_ROOT / ".pre-commit-config.yaml").read_text())
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def pre_commit(repo: RepoCopy, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PRE_COMMIT_PEX), *args],
        cwd=repo.root,
        # Hooks that run ./pants must not leave a daemon behind in the throwaway copy.
        env={**os.environ, "PANTS_PANTSD": "false", "PANTS_DYNAMIC_UI": "false"},
        capture_output=True,
        text=True,
        timeout=1200,
    )


def test_every_hook_is_local_so_nothing_is_fetched_from_github() -> None:
    config = yaml.safe_load((SANDBOX_ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]


def test_the_issue_s_checks_are_all_there() -> None:
    ids = {hook["id"] for hook in hooks()}
    assert ids >= {
        "ruff-format",
        "ruff-lint",
        "terraform-fmt",
        "trailing-whitespace",
        "end-of-file",
        "large-files",
        "detect-secrets",
        "nbstripout",
    }


def test_the_hooks_run_the_ruff_that_pants_runs() -> None:
    ruff = f"ruff=={locked_version(SANDBOX_ROOT / DEFAULT_LOCK, 'ruff')}"
    for hook in hooks():
        if hook["id"].startswith("ruff"):
            assert hook["additional_dependencies"] == [ruff], hook["id"]


def test_the_hooks_check_workflows_with_the_check_jsonschema_the_tests_run() -> None:
    """The workflow hooks and tests/devx/workflows_test.py (tools:check-jsonschema, from the
    devtools lock) must judge the workflows by the same vendored schemas."""
    pinned = f"check-jsonschema=={locked_version(SANDBOX_ROOT / DEVTOOLS_LOCK, 'check-jsonschema')}"
    checkers = [
        hook for hook in hooks() if str(hook.get("entry", "")).startswith("check-jsonschema")
    ]
    assert checkers
    for hook in checkers:
        assert hook["additional_dependencies"] == [pinned], hook["id"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> RepoCopy:
    return RepoCopy.create(tmp_path_factory.mktemp("pre-commit") / "repo")


def test_the_hooks_fix_whitespace_strip_outputs_and_catch_a_secret(repo: RepoCopy) -> None:
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": ["42\n"]}],
                "source": ["print(42)"],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    repo.write("notebooks/scratch.ipynb", json.dumps(notebook, indent=1) + "\n")
    repo.write("notes.txt", "trailing spaces   \nno final newline")
    # A made-up key in the shape of an AWS access key id, split so this file does not hold one.
    repo.write("settings.txt", "aws_access_key_id = " + "AKIA" + "Q3EGRIOSF4BLW2ZT" + "\n")
    files = ["notebooks/scratch.ipynb", "notes.txt", "settings.txt"]
    repo.git("add", *files)

    run = pre_commit(repo, "run", "--color=never", "--files", *files)

    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "settings.txt" in output and "AWS Access Key" in output
    assert Path(repo.root / "notes.txt").read_text() == "trailing spaces\nno final newline\n"
    stripped = json.loads((repo.root / "notebooks/scratch.ipynb").read_text())
    assert stripped["cells"][0]["outputs"] == []
    assert stripped["cells"][0]["execution_count"] is None
