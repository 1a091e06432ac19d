"""The serving load benchmark's --quick mode end to end: every server it measures starts, and
the report is well formed. No speed is asserted."""

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.serving_load import PERCENTILES, QUICK_CONCURRENCY
from loopback.processes import inherited_pythonpath
from tests.serving.conftest import World
from tests.serving.harness import server_env


def test_quick_run_reports_every_server_and_level(world: World, tmp_path: Path) -> None:
    output = tmp_path / "serving.json"
    # One worker per server (--workers sets both): the report's form does not depend on how
    # many. The benchmark and the servers it starts run from the sources beside this test.
    env = server_env(world.home, world.features.parent)
    env["PYTHONPATH"] = inherited_pythonpath()
    command = [sys.executable, "-m", "benchmarks.serving_load", "--quick", "--workers", "1"]
    command += ["--output", str(output)]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["workers"] == 1
    summary = report["summary"]
    assert set(summary["in_process"]) == {
        "one_flight_ms",
        "batch_100_ms",
        "batch_100_flights_per_s",
    }
    assert all(value > 0 for value in summary["in_process"].values())
    for name in ("bare", "bentoml"):
        for size, levels in QUICK_CONCURRENCY.items():
            rows = summary["servers"][name][str(size)]
            assert [row["concurrency"] for row in rows] == list(levels)
            for row in rows:
                assert row["requests_per_s"] > 0 and row["errors"] == 0, (name, size, row)
                assert all(row[f"p{p}_ms"] > 0 for p in PERCENTILES)
    assert set(summary["bentoml_over_bare"]) == {"1", "100"}
    assert [set(run) for run in summary["bentoml_over_bare_per_run"]] == [{"1", "100"}]
    assert "| bentoml | 100 | 1 |" in report["table"]
