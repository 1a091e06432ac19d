"""A throwaway git copy of this repo, for tests that run ./pants against a change they make,
or of the files a test's sandbox holds (the DVC pipeline test's checkout, tests/dvc).

`RepoCopy.create` copies the working tree at PLATFORM_REPO_ROOT, which ./pants sets to the
build root and the `machine_tests` macro passes to the tests that need it. The build tests depend
on `//:build_config`, not on the code, so they re-run when the build mechanism changes, not on a
code change alone: `./pants lint` checks the code itself on every change.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.git_identity import GIT_IDENTITY

# Pants lays out the test's `//:build_config` dependency at the sandbox root, the test's cwd;
# tests that only read configuration read it there.
SANDBOX_ROOT = Path.cwd()


def working_tree() -> Path:
    root = os.environ.get("PLATFORM_REPO_ROOT")
    if not root or not (Path(root) / "pants.toml").is_file():
        raise RuntimeError(f"PLATFORM_REPO_ROOT={root!r} is not the repo (./pants sets it)")
    return Path(root)


@dataclass(frozen=True)
class PantsRun:
    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class RepoCopy:
    root: Path
    # Whether ./pants runs are served by a Pants daemon (see `daemon`).
    served: bool = False

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
        # Tracked files deleted in the working tree are listed too.
        present = [name for name in listed.split("\0") if name and (source / name).is_file()]
        return cls.of_files(source, present, destination)

    @classmethod
    def of_files(cls, source: Path, relatives: Iterable[str], destination: Path) -> RepoCopy:
        """Copy the files `relatives` names under `source` (directories: every file in them)
        into `destination`, the same paths, and commit them. A name with nothing at it under
        `source` is an error, not a copy without it."""
        for relative in relatives:
            top = source / relative
            if not top.exists():
                raise FileNotFoundError(f"{relative} is not in {source}: the copy would lack it")
            for path in sorted(top.rglob("*")) if top.is_dir() else [top]:
                if path.is_file():
                    copied = destination / path.relative_to(source)
                    copied.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, copied)
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
        """Run ./pants in the copy, sharing the machine's Pants caches; without a daemon unless
        the copy was made by `daemon`."""
        # A daemon learns of a test's edits by watching the files.
        mode = ["--pantsd"] if self.served else ["--no-pantsd", "--no-watch-filesystem"]
        result = subprocess.run(
            ["./pants", *mode, "--no-dynamic-ui", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return PantsRun(result.returncode, result.stdout, result.stderr)

    @contextlib.contextmanager
    def daemon(self) -> Iterator[RepoCopy]:
        """This copy with its ./pants runs served by one Pants daemon, stopped on exit. For a test
        that runs ./pants several times: Pants starts once instead of once per run, tens of
        seconds each on a loaded 2-core machine. A run with other execution options (such as
        `--no-local-cache`) re-creates the daemon's scheduler, which takes a few seconds; a test
        that needs every process to run again stops the daemon first."""
        try:
            yield dataclasses.replace(self, served=True)
        finally:
            self.stop_daemon()

    def stop_daemon(self) -> None:
        """Stop the copy's Pants daemon, if one runs: SIGTERM to the process its pid file (under
        Pants' default `pants_subprocessdir`, .pids/) names, if that process is this copy's
        daemon (its title is `pantsd [<root>]`), then wait until it is gone; fail if it stays."""
        for pid_file in self.root.glob(".pids/*/pantsd/pid"):
            pid = int(pid_file.read_text().strip() or 0)
            if pid <= 0 or process_title(pid) != f"pantsd [{self.root.resolve()}]":
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while process_title(pid):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Pants daemon of {self.root} (pid {pid}) did not stop")
                time.sleep(0.2)


def process_title(pid: int) -> str:
    """The command line of process `pid`, or "" once it is gone (a zombie has none)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""
