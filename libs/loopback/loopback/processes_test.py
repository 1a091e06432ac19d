import http.server
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopback.ports import accepts_connections
from loopback.processes import (
    LOG_TAIL_CHARS,
    PORT_TAKEN,
    SETPRIV,
    NeverReady,
    answers_200,
    children,
    inherited_pythonpath,
    modules_loaded_by_commands,
    start_server,
    stop,
    wait_until,
    without_pex_variables,
)

FALSY: st.SearchStrategy[object] = st.sampled_from([None, False, 0, "", [], {}])


def results(values: list[object]) -> tuple[list[int], Callable[[], object]]:
    """A probe that returns `values` in turn, and the list that counts its calls."""
    calls: list[int] = []
    feed: Iterator[object] = iter(values)

    def probe() -> object:
        calls.append(1)
        return next(feed)

    return calls, probe


@given(st.lists(FALSY, max_size=20), st.one_of(st.integers(1), st.text(min_size=1), st.just(True)))
def test_returns_the_first_true_result_after_any_false_ones(
    falsy: list[object], true: object
) -> None:
    calls, probe = results([*falsy, true, "never reached"])
    assert wait_until(probe, what="it", timeout=60, interval=0) == true
    assert len(calls) == len(falsy) + 1


def test_a_retried_exception_counts_as_not_yet_and_is_named_at_the_deadline() -> None:
    def refused() -> bool:
        raise ConnectionRefusedError("nobody listens")

    with pytest.raises(NeverReady) as raised:
        wait_until(refused, what="the server", timeout=0.05, interval=0.01, retry_on=(OSError,))
    message = str(raised.value)
    assert message.startswith("the server: not after 0.05 s")
    assert "ConnectionRefusedError('nobody listens')" in message


def test_any_other_exception_propagates_at_once() -> None:
    calls, probe = results([None])

    def broken() -> None:
        probe()
        raise ValueError("a bug in the probe")

    with pytest.raises(ValueError, match="a bug in the probe"):
        wait_until(broken, what="it", timeout=60, interval=0, retry_on=(OSError,))
    assert len(calls) == 1


def test_the_deadline_names_the_last_result_and_the_end_of_the_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("x" * LOG_TAIL_CHARS + "the last line\n")
    with pytest.raises(NeverReady) as raised:
        wait_until(lambda: [], what="rows", timeout=0, interval=0, log=log)
    message = str(raised.value)
    assert "rows: not after 0 s (last seen: [])" in message
    assert message.endswith("the last line\n")
    assert len(message) < LOG_TAIL_CHARS + 200


def test_an_exited_process_ends_the_wait_at_once_with_its_code_and_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", "print('port already in use'); raise SystemExit(3)"],
            stdout=output,
        )
    process.wait(timeout=60)
    calls, probe = results([None] * 5)
    with pytest.raises(NeverReady) as raised:
        wait_until(probe, what="/readyz", timeout=3600, interval=0, process=process, log=log)
    assert len(calls) == 1
    message = str(raised.value)
    assert message.startswith("/readyz: the process exited with 3")
    assert "port already in use" in message


def test_an_unreadable_log_is_said_instead_of_hiding_the_failure(tmp_path: Path) -> None:
    with pytest.raises(NeverReady, match="could not be read"):
        wait_until(lambda: None, what="it", timeout=0, log=tmp_path / "missing.log")


def test_stop_ends_a_process_with_sigterm() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    stop(process)
    assert process.returncode == -signal.SIGTERM


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    ignoring = tmp_path / "ignoring"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import pathlib, signal, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "pathlib.Path(sys.argv[1]).touch()\n"
            "time.sleep(600)\n",
            str(ignoring),
        ]
    )
    wait_until(
        ignoring.exists, what="the SIGTERM handler", timeout=60, interval=0.05, process=process
    )
    stop(process, timeout=0.5)
    assert process.returncode == -signal.SIGKILL


def test_an_artifact_gets_every_variable_but_pexs() -> None:
    pex = ["PEX", "PEX_ROOT", "PEX_EXTRA_SYS_PATH", "PEX_PYTHON_PATH", "PEX_INHERIT_PATH"]
    pex += ["__PEX_EXTRA_SYS_PATH__", "__PEX_UNVENDORED__", "__PEX_EXE__"]
    # Near misses: another tool's (pexpect's), an API key, and names PEX never reads.
    others = ["PEXPECT_TIMEOUT", "PEXELS_API_KEY", "PEXX", "_PEX_ROOT", "MY_PEX_ROOT", "pex_root"]
    others += ["PATH", "HOME"]
    environ = {name: f"value of {name}" for name in pex + others}
    assert without_pex_variables(environ) == {name: environ[name] for name in others}


def test_a_child_in_another_directory_imports_what_this_process_imports(tmp_path: Path) -> None:
    # Run from elsewhere: a relative entry of sys.path would point at nothing there.
    command = [sys.executable, "-c", "import loopback.processes"]
    env = {"PATH": "", "PYTHONPATH": inherited_pythonpath()}
    imported = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    alone = subprocess.run(command, cwd=tmp_path, env={"PATH": ""}, capture_output=True)
    assert alone.returncode != 0


# A server for start_server's tests: it fails its first `taken` starts as a server does whose
# port was taken, then listens on its port; every start is counted in the file `starts`.
FLAKY_SERVER = """
import pathlib, socket, sys, time
port, starts, taken = int(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
message = sys.argv[4]
with starts.open("a") as counted:
    counted.write(f"{port}\\n")
if len(starts.read_text().split()) <= taken:
    print(message, flush=True)
    raise SystemExit(1)
listening = socket.create_server(("127.0.0.1", port))
print("listening", flush=True)
time.sleep(600)
"""


def listens(_process: subprocess.Popen[bytes], port: int) -> bool:
    return accepts_connections(port)


def flaky(
    tmp_path: Path, taken: int, message: str = "OSError: [Errno 98] Address already in use"
) -> tuple[subprocess.Popen[bytes], int, list[int]]:
    """start_server on FLAKY_SERVER: the process, its port, and the port of each start."""
    starts = tmp_path / "starts"
    process, port = start_server(
        lambda port: [
            sys.executable,
            "-c",
            FLAKY_SERVER,
            str(port),
            str(starts),
            str(taken),
            message,
        ],
        started=listens,
        what="the flaky server",
        log=tmp_path / "server.log",
        timeout=60,
    )
    return process, port, [int(p) for p in starts.read_text().split()]


@pytest.mark.parametrize("taken", [0, 1, 2])
def test_a_server_whose_port_was_taken_is_started_again_on_another(
    tmp_path: Path, taken: int
) -> None:
    process, port, ports = flaky(tmp_path, taken)
    try:
        assert process.poll() is None
        assert len(ports) == taken + 1 and ports[-1] == port
        assert listens(process, port)
        assert (tmp_path / "server.log").read_text() == "listening\n"
        # Each failed start's log is kept, numbered.
        for attempt in range(1, taken + 1):
            assert "Address already in use" in (tmp_path / f"server.log.{attempt}").read_text()
        assert not (tmp_path / f"server.log.{taken + 1}").exists()
    finally:
        stop(process)


def test_go_servers_say_a_port_is_taken_in_lower_case(tmp_path: Path) -> None:
    # Prometheus: "listen tcp 127.0.0.1:9090: bind: address already in use".
    process, port, ports = flaky(tmp_path, 1, message=f"bind: {PORT_TAKEN}")
    try:
        assert len(ports) == 2 and ports[-1] == port
    finally:
        stop(process)


def test_after_three_taken_ports_the_last_exit_is_named_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(NeverReady) as raised:
        flaky(tmp_path, taken=5)
    message = str(raised.value)
    assert message.startswith("the flaky server started: the process exited with 1")
    assert message.endswith("Address already in use\n")
    assert len((tmp_path / "starts").read_text().split()) == 3


def test_a_server_that_fails_for_another_reason_is_not_started_again(tmp_path: Path) -> None:
    with pytest.raises(NeverReady) as raised:
        flaky(tmp_path, taken=1, message="no model is promoted")
    assert str(raised.value).endswith("no model is promoted\n")
    assert len((tmp_path / "starts").read_text().split()) == 1
    assert not (tmp_path / "server.log.1").exists()


def test_a_server_never_started_in_time_is_stopped_and_named(tmp_path: Path) -> None:
    before = children(os.getpid())
    with pytest.raises(NeverReady, match="the sleeper started: not after 0.5 s"):
        start_server(
            lambda port: [sys.executable, "-c", "import time; time.sleep(600)"],
            started=lambda process, port: False,
            what="the sleeper",
            log=tmp_path / "sleeper.log",
            timeout=0.5,
        )
    assert children(os.getpid()) == before


def test_children_are_the_processes_started_and_not_yet_reaped() -> None:
    before = children(os.getpid())
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        assert children(os.getpid()) == sorted([*before, process.pid])
    finally:
        stop(process)
    assert children(os.getpid()) == before
    assert children(process.pid) == []


def test_answers_200_only_while_a_page_answers_200() -> None:
    class Statuses(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # (the stdlib's name)
            self.send_response(int(self.path.strip("/")))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Statuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert answers_200(f"{url}/200")
        assert not any(answers_200(f"{url}/{status}") for status in (201, 404, 500, 503))
    finally:
        server.shutdown()
        server.server_close()
    assert not answers_200(f"{url}/200")


# A command line whose `work` command alone imports a library, as a lazy CLI does.
LAZY_CLI = """
import sys

def main(argv):
    if argv == ["--help"]:
        raise SystemExit(0)
    if argv[0] == "work":
        import slow_library
        print("worked", slow_library.NAME)
        return 0
    print("refused:", argv[0], file=sys.stderr)
    return 2
"""


def test_modules_loaded_by_commands_are_seen_after_each_command_in_one_fresh_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lazy_cli.py").write_text(LAZY_CLI)
    (tmp_path / "slow_library.py").write_text("NAME = 'slow'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    commands = [["--help"], ["bad"], ["work"], ["bad"]]
    outcomes, stderr = modules_loaded_by_commands("lazy_cli", commands, ["slow_library", "json"])
    # `json` is the runner's own; the library is loaded from the first command that imports it.
    assert outcomes == [
        (0, ["json"]),
        (2, ["json"]),
        (0, ["slow_library", "json"]),
        (2, ["slow_library", "json"]),
    ]
    assert stderr.splitlines() == ["refused: bad", "refused: bad"]


def test_a_command_line_that_cannot_be_run_is_named_with_its_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="running no_such_cli's commands exited 1") as raised:
        modules_loaded_by_commands("no_such_cli", [["--help"]], [])
    assert "No module named 'no_such_cli'" in str(raised.value)


# A test runner: starts a server in a session of its own, as the serving harness does, says its
# pid, and waits to be killed.
RUNNER = """
import sys
from pathlib import Path
from loopback.ports import accepts_connections
from loopback.processes import start_server
process, port = start_server(
    lambda port: [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
    started=lambda process, port: accepts_connections(port),
    what="the server",
    log=Path(sys.argv[1]),
    timeout=60,
    start_new_session=True,
)
print(process.pid, flush=True)
sys.stdin.read()
"""


def runs(pid: int) -> bool:
    """Whether `pid` runs: not gone, and not a zombie no one has reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.mark.skipif(SETPRIV is None, reason="needs Linux's setpriv (util-linux)")
def test_a_server_ends_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    """SIGKILL, as a runner that restarts a test does: nothing of the starter's own runs, and
    its server, in a session of its own, is not in its process group."""
    env = {**os.environ, "PYTHONPATH": inherited_pythonpath()}
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp_path / "server.log")],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert runner.stdout is not None
    server = int(runner.stdout.readline())
    try:
        assert runs(server)
        runner.kill()
        runner.wait()
        wait_until(lambda: not runs(server), what="the server's end", timeout=30, interval=0.1)
    finally:
        if runs(server):
            os.kill(server, signal.SIGKILL)
