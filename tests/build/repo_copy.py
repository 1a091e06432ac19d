"""A throwaway git copy of this repo, for tests that run ./pants against a change they make
(and for the DVC pipeline test, as the checkout its stages run in).

The copy is of the working tree at PLATFORM_REPO_ROOT, which ./pants sets to the build root and
the `machine_tests` macro passes to the tests that need it. The build tests depend on
`//:build_config`, not on the code, so they re-run when the build mechanism changes, not on a
code change alone: `./pants lint` checks the code itself on every change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Pants lays out the test's `//:build_config` dependency at the sandbox root, the test's cwd;
# tests that only read configuration read it there.
SANDBOX_ROOT = Path.cwd()


def working_tree() -> Path:
    root = os.environ.get("PLATFORM_REPO_ROOT")
    if not root or not (Path(root) / "pants.toml").is_file():
        raise RuntimeError(f"PLATFORM_REPO_ROOT={root!r} is not the repo (./pants sets it)")
    return Path(root)


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


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
        """Copy the working tree's files (tracked, or untracked and not ignored) into
        `destination` and commit them."""
        source = working_tree()
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=source,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for relative in filter(None, listed.split("\0")):
            if (source / relative).is_file():
                (destination / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source / relative, destination / relative)
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
