import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import serve_start
from benchmarks.serve_start import (
    ARTIFACT,
    BARE,
    built_artifact,
    main,
    memory_mib,
    process_tree,
    pss_kib,
    summary,
)
from loopback.processes import stop, wait_until

# A child that holds about 100 MiB of its own pages (written, so resident), under a parent.
HOLDS_100_MIB = "import time; held = b'x' * (100 << 20); print('held', flush=True); time.sleep(600)"
PARENT = (
    "import subprocess, sys, time; "
    f"subprocess.Popen([sys.executable, '-c', {HOLDS_100_MIB!r}]); time.sleep(600)"
)


def test_the_memory_of_a_server_counts_the_processes_below_it() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    try:

        def both() -> list[int] | None:
            tree = process_tree(parent.pid)
            return tree if len(tree) == 2 else None

        pids = wait_until(both, what="the child started", timeout=30)
        assert pids[0] == parent.pid
        wait_until(lambda: memory_mib(pids[1:]) > 100, what="the child's pages", timeout=30)
        assert memory_mib(pids) > memory_mib(pids[1:]) > 100
        assert memory_mib(pids[:1]) < 50
    finally:
        for pid in process_tree(parent.pid)[1:]:
            os.kill(pid, signal.SIGKILL)
        stop(parent)
    # Gone, or exited and not yet reaped: nothing counted (the kernel frees a killed process's
    # pages a moment after the signal).
    wait_until(lambda: memory_mib(pids) == 0, what="nothing counted once exited", timeout=30)


def test_pss_is_read_from_its_line_and_a_text_without_it_is_refused() -> None:
    text = "55d0-7ffc ---p 00000000 00:00 0 [rollup]\nRss:  2048 kB\nPss:  1536 kB\n"
    assert pss_kib(text) == 1536
    with pytest.raises(ValueError, match="no Pss line"):
        pss_kib("Rss: 2048 kB\n")


def test_the_summary_takes_medians_and_divides_by_the_bare_servers() -> None:
    runs = [
        {"artifact": {"seconds": s, "memory_mib": m}, BARE: {"seconds": 2.0, "memory_mib": 400.0}}
        for s, m in ((4.0, 800.0), (9.0, 900.0), (5.0, 820.0))
    ]
    medians = summary(runs)
    assert medians["artifact"] == {
        "seconds": 5.0,
        "memory_mib": 820.0,
        "seconds_over_bare": 2.5,
        "memory_over_bare": 2.05,
    }
    assert medians[BARE]["seconds_over_bare"] == 1.0


def test_an_artifact_that_is_not_built_is_named_with_the_command_that_builds_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="./pants package services/serve:serve"):
        built_artifact(str(tmp_path))
    (tmp_path / "__main__.py").write_text("")
    assert built_artifact(str(tmp_path)) == tmp_path


def test_without_a_built_artifact_the_benchmark_says_how_to_build_one_before_any_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The test runs where no dist/ is: the default artifact is not built.
    with pytest.raises(SystemExit) as exited:
        main(["--runs", "1"])
    assert exited.value.code == 2
    assert "./pants package services/serve:serve" in capsys.readouterr().err


def test_without_an_output_the_report_is_saved_under_build_benchmarks_of_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/benchmarks.md says every benchmark leaves build/benchmarks/<name>.json; this one left
    # nothing unless given --output. Relative, as the artifact is: `./pants run` runs this from
    # the checkout, with its sources (REPO) in a sandbox.
    monkeypatch.chdir(tmp_path)
    (tmp_path / ARTIFACT).mkdir(parents=True)
    (tmp_path / ARTIFACT / "__main__.py").write_text("")

    def start_once(command: list[str], log: Path, env: dict[str, str]) -> dict[str, float]:
        return {"seconds": 1.0, "processes": 1, "memory_mib": 100.0}

    monkeypatch.setattr(serve_start, "start_once", start_once)
    assert main(["--runs", "1"]) == 0
    report = json.loads((tmp_path / "build" / "benchmarks" / "serve_start.json").read_text())
    assert list(report["medians"]) == [str(ARTIFACT), BARE]
