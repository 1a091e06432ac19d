"""The GitHub workflows' own step scripts, run outside Actions: tests/devx checks their logic on
small git repos, and infra/iac's deploy rehearsal runs the deploy and andon-cord steps against
the emulated AWS account. The tests depend on //:devx_config, which lays the workflow files out
at the sandbox root (the test's cwd)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.git_identity import GIT_IDENTITY

WORKFLOWS = Path.cwd() / ".github" / "workflows"
# The repository's own scripts that the steps run (tests/BUILD puts them in the sandbox).
STEP_SCRIPTS = ("tools/releases.py",)

GIT_ENV = {**GIT_IDENTITY, "PATH": "/usr/bin:/bin:/usr/local/bin"}


def load(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    return document


def step_script(workflow: str, job: str, *, step_id: str = "", name: str = "") -> str:
    (script,) = (
        step["run"]
        for step in load(workflow)["jobs"][job]["steps"]
        if (step_id and step.get("id") == step_id) or (name and step.get("name") == name)
    )
    return str(script)


def checkout_options(workflow: str, job: str) -> dict[str, Any]:
    """The `with:` of the job's actions/checkout step."""
    (options,) = (
        step.get("with", {})
        for step in load(workflow)["jobs"][job]["steps"]
        if str(step.get("uses", "")).startswith("actions/checkout@")
    )
    return dict(options)


def actions_checkout(origin: Path, root: Path, options: dict[str, Any]) -> Path:
    """A checkout of `origin`'s default branch at `root` as actions/checkout@v4 makes one with
    these `with:` options: by default one commit and no tags; `fetch-depth: 0` the whole history
    and every tag; `fetch-tags: true` the tags at the given depth."""
    depth = int(options.get("fetch-depth", 1))
    tags = depth == 0 or bool(options.get("fetch-tags", False))
    root.mkdir(parents=True)
    git(root, "init", "-q")
    fetch = [
        "fetch",
        "-q",
        "--tags" if tags else "--no-tags",
        *([f"--depth={depth}"] if depth else []),
    ]
    git(root, *fetch, f"file://{origin}", "HEAD")
    git(root, "checkout", "-q", "--detach", "FETCH_HEAD")
    git(root, "remote", "add", "origin", str(origin))
    return root


def git(root: Path, *args: str, date: str = "2026-01-01T00:00:00Z") -> str:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        env={**GIT_ENV, "GIT_COMMITTER_DATE": date},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def repository(root: Path) -> Path:
    """A git repository at `root` with one empty commit, for release tags to point at."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    git(root, "commit", "-q", "--allow-empty", "-m", "first")
    return root


def release_tag(root: Path, kind: str, image: str, day: int = 1) -> None:
    """Tag HEAD `<kind>/<image>` (promoted, rolled-back) as of day `day` of January 2026."""
    git(root, "tag", "-a", f"{kind}/{image}", "-m", kind, date=f"2026-01-{day:02d}T00:00:00Z")


def github_output(root: Path) -> Path:
    return root.parent / f"{root.name}-github-output"


def run_script(script: str, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a workflow step's script in `root` as Actions would, with the repository's scripts
    the steps call (STEP_SCRIPTS) where a checkout has them."""
    for name in STEP_SCRIPTS:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path.cwd() / name, root / name)
    github_output(root).write_text("")
    return subprocess.run(
        ["bash", "-c", script],
        cwd=root,
        env={**GIT_ENV, **env, "GITHUB_OUTPUT": str(github_output(root))},
        capture_output=True,
        text=True,
    )


def run_step(script: str, root: Path, env: dict[str, str]) -> dict[str, str]:
    """Run a step that must succeed (run_script); return its step outputs."""
    result = run_script(script, root, env)
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(line.split("=", 1) for line in github_output(root).read_text().splitlines())
