"""A throwaway git copy of this repo, for tests that run ./pants against a change they make."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Pants lays out the test's `//:repo_files` dependency at the sandbox root, the test's cwd.
SANDBOX_ROOT = Path.cwd()

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


# What Pants adds to a test sandbox beside the repo files: runner PEXes, scripts, reports, and
# links into its caches (which hold gigabytes and must never be copied).
_SANDBOX_MACHINERY = ("*.pex", "*_shim.sh", "__run.sh", "extra-output", "*.xml", "__pycache__")


def _not_repo_files(directory: str, names: list[str]) -> set[str]:
    ignored = set(shutil.ignore_patterns(*_SANDBOX_MACHINERY)(directory, names))
    for name in names:
        path = Path(directory) / name
        if path.is_symlink() or (name.startswith(".") and name not in (".ci", ".gitignore")):
            ignored.add(name)
    return ignored


@dataclass(frozen=True)
class PantsRun:
    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class RepoCopy:
    root: Path

    @classmethod
    def create(cls, destination: Path) -> RepoCopy:
        """Copy the repo's files from the sandbox into `destination` and commit them."""
        shutil.copytree(SANDBOX_ROOT, destination, symlinks=True, ignore=_not_repo_files)
        copy = cls(destination)
        copy.git("init", "-q", "-b", "main")
        copy.commit("snapshot of the repo under test")
        return copy

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env={**os.environ, **GIT_IDENTITY},
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def append(self, relative: str, text: str) -> None:
        with open(self.root / relative, "a") as handle:
            handle.write(text)

    def pants(self, *args: str) -> PantsRun:
        """Run ./pants in the copy, without a daemon, sharing the machine's Pants caches."""
        result = subprocess.run(
            ["./pants", "--no-pantsd", "--no-dynamic-ui", "--no-watch-filesystem", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return PantsRun(result.returncode, result.stdout, result.stderr)
