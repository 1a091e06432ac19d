"""A process started next to this one (a server on loopback, a second CLI run): starting a
server on a free port, waiting until it is ready, and stopping it. The one polling loop that
serve's smoke test, the benchmarks and the tests share, so that each failure says the same
things: what was awaited, what was last seen, and the tail of the process's log."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from loopback.ports import free_port

T = TypeVar("T")

LOG_TAIL_CHARS = 4000

# What a process's log says when a port it binds is taken, in any case (Python's OSError and
# ZeroMQ's ZMQError capitalise it, Go's net package does not).
PORT_TAKEN = "address already in use"


# Runs `main` of the module argv[1] on each argv list of argv[3] in turn and prints, as the last
# line, each one's exit status with which of the modules named in argv[2] were loaded by then.
_RUN_COMMANDS = """
import importlib, json, sys
main = importlib.import_module(sys.argv[1]).main
watched = json.loads(sys.argv[2])
outcomes = []
for argv in json.loads(sys.argv[3]):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    outcomes.append([code, [name for name in watched if name in sys.modules]])
print(json.dumps(outcomes))
"""


# util-linux's setpriv, on Linux: start_server runs its command through it with a parent-death
# signal, so a server ends with the process that started it. One started in a session of its own
# is outside the process group a runner stops, and a test run killed mid-way (Pants restarts a
# test whose files changed) left its servers running, holding ports and memory. The signal goes
# when the thread that started the server exits: start servers from one that outlives them (the
# main thread). Where there is no setpriv (macOS), a server outlives a killed starter as before.
SETPRIV = shutil.which("setpriv") if sys.platform == "linux" else None


def ending_with_this_process(command: Sequence[str]) -> list[str]:
    """`command`, run so that it gets SIGTERM when the process starting it dies (SETPRIV)."""
    if SETPRIV is None:
        return list(command)
    return [SETPRIV, "--pdeathsig", "TERM", "--", *command]


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


def start_server(
    command_at: Callable[[int], Sequence[str]],
    *,
    started: Callable[[subprocess.Popen[bytes], int], bool],
    what: str,
    log: Path,
    timeout: float,
    attempts: int = 3,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    start_new_session: bool = False,
    interval: float = 0.25,
) -> tuple[subprocess.Popen[bytes], int]:
    """Run `command_at(port)` on a free loopback port, its output in `log`, until `started`
    is true (a server's sockets bound, or its page ready), asked every `interval` seconds;
    return it and the port.

    A port picked free can be taken before the server binds it: free_port's, and those a
    server picks for itself (BentoML's process manager binds two more), by any process's
    outgoing connection or another server. A process that exits saying so is started again on
    a new port, at most `attempts` times in all; its log is kept beside `log` (`.1`, `.2`).
    NeverReady, as wait_until raises it, when the process exits for any other reason or
    `started` is not true within `timeout` seconds; the process is stopped then. The process
    gets SIGTERM if this one dies first (ending_with_this_process)."""
    attempt = 1
    while True:
        port = free_port()
        with open(log, "wb") as output:
            process = subprocess.Popen(
                ending_with_this_process(command_at(port)),
                env=None if env is None else dict(env),
                cwd=cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=start_new_session,
            )
        try:
            wait_until(
                functools.partial(started, process, port),
                what=f"{what} started",
                timeout=timeout,
                interval=interval,
                process=process,
                log=log,
            )
        except NeverReady:
            port_taken = PORT_TAKEN in log.read_text(errors="replace").lower()
            if process.poll() is not None and port_taken and attempt < attempts:
                log.rename(log.with_name(f"{log.name}.{attempt}"))
                attempt += 1
                continue
            stop(process)
            raise
        except BaseException:
            stop(process)
            raise
        return process, port


def answers_200(url: str, timeout: float = 5) -> bool:
    """Whether a GET of `url` answers 200 now; false while nothing listens, or on any other
    status (urllib raises those, as it does a refused connection: both are OSErrors)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status) == 200
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """The pids of the processes `pid` has started and not yet reaped (a server's workers),
    lowest first; none once it has exited."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return sorted(int(child) for child in listed.split())


def inherited_pythonpath() -> str:
    """A PYTHONPATH for a child Python process that imports what this one can: this sys.path,
    absolute (Pants puts the source roots on sys.path relative to its sandbox, and the child may
    run in another directory)."""
    return os.pathsep.join(os.path.abspath(p) for p in sys.path if p)


def modules_loaded_by_commands(
    cli: str, commands: Sequence[Sequence[str]], watched: Sequence[str], timeout: float = 240
) -> tuple[list[tuple[int, list[str]]], str]:
    """Run `<cli>.main(argv)` for each of `commands` in turn in one fresh interpreter that imports
    what this one can; return, per command, its exit status and which `watched` modules the
    process had loaded by its end, and the process's stderr. What a command line loads before
    it answers `--help` or refuses an argument is what each such answer waits for."""
    run = subprocess.run(
        [sys.executable, "-c", _RUN_COMMANDS, cli, json.dumps(watched), json.dumps(commands)],
        env={**os.environ, "PYTHONPATH": inherited_pythonpath()},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if run.returncode != 0:
        raise RuntimeError(
            f"running {cli}'s commands exited {run.returncode}:\n{run.stderr[-LOG_TAIL_CHARS:]}"
        )
    outcomes = json.loads(run.stdout.splitlines()[-1])
    return [(code, loaded) for code, loaded in outcomes], run.stderr


def without_pex_variables(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`environ` without PEX's variables (`PEX`, the running PEX's path; `PEX_*`, its settings
    such as PEX_ROOT and PEX_EXTRA_SYS_PATH; `__PEX_*`, its internal ones such as
    __PEX_EXTRA_SYS_PATH__): a process that runs from a PEX (a test runner, `./pants run`) must
    not hand them to an artifact it starts, which would then run on another PEX root or import
    path than it does anywhere else. Other names that merely start with "PEX" (PEXPECT_TIMEOUT)
    are kept."""
    return {k: v for k, v in environ.items() if k != "PEX" and not k.startswith(("PEX_", "__PEX_"))}


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
