import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopback.processes import (
    LOG_TAIL_CHARS,
    NeverReady,
    inherited_pythonpath,
    stop,
    wait_until,
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


def test_a_child_in_another_directory_imports_what_this_process_imports(tmp_path: Path) -> None:
    # Run from elsewhere: a relative entry of sys.path would point at nothing there.
    command = [sys.executable, "-c", "import loopback.processes"]
    env = {"PATH": "", "PYTHONPATH": inherited_pythonpath()}
    imported = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    alone = subprocess.run(command, cwd=tmp_path, env={"PATH": ""}, capture_output=True)
    assert alone.returncode != 0
