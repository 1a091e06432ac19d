"""A process started next to this one (a server on loopback, a second CLI run): waiting until it
is ready, and stopping it. The one polling loop that serve's smoke test, the benchmarks and the
tests share, so that each failure says the same things: what was awaited, what was last seen,
and the tail of the process's log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

LOG_TAIL_CHARS = 4000


class NeverReady(RuntimeError):
    """`wait_until` gave up: the deadline passed or the awaited process exited."""


def wait_until(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 0.25,
    process: subprocess.Popen[bytes] | subprocess.Popen[str] | None = None,
    log: Path | None = None,
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """The first true result of `probe` (a non-empty page, True), calling it every `interval`
    seconds for at most `timeout` seconds. An exception of a type in `retry_on` counts as a
    false result (a connection refused while the server starts); any other propagates at once.
    NeverReady names `what`, the last result or exception, and the tail of `log`; it is raised
    at once when `process` has exited, since it would then never be ready."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = probe()
        except retry_on as error:
            last = error
        else:
            if result:
                return result
            last = result
        if process is not None and process.poll() is not None:
            raise NeverReady(
                f"{what}: the process exited with {process.returncode} (last seen: {last!r})"
                + _tail(log)
            )
        if time.monotonic() >= deadline:
            raise NeverReady(f"{what}: not after {timeout:g} s (last seen: {last!r})" + _tail(log))
        time.sleep(interval)


def inherited_pythonpath() -> str:
    """A PYTHONPATH for a child Python process that imports what this one can: this sys.path,
    absolute (Pants puts the source roots on sys.path relative to its sandbox, and the child may
    run in another directory)."""
    return os.pathsep.join(os.path.abspath(p) for p in sys.path if p)


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `timeout` seconds; reaped either way."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path | None) -> str:
    if log is None:
        return ""
    try:
        text = log.read_text(errors="replace")
    except OSError as error:
        return f"\n(its log {log} could not be read: {error})"
    return f"\nthe end of {log}:\n{text[-LOG_TAIL_CHARS:]}"
