"""A worker that is killed (the kernel's OOM killer, a crash) while it loads: BentoML starts
another, and the metrics forget the killed one and count the kill. Its gauges would otherwise
count for ever: the workers gauge one too many, and its ready value of 0 would page
ServeNotReady although every worker that runs is ready."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from loopback.processes import wait_until
from tests.serving.conftest import World
from tests.serving.harness import (
    deliver_store,
    server_env,
    service_command,
    serving,
    serving_data,
)


def test_a_worker_killed_while_loading_is_replaced_and_forgotten(
    world: World, tmp_path: Path
) -> None:
    # No online store yet: the workers wait for it, not ready.
    data = serving_data(tmp_path / "data", world.features)
    env = server_env(world.home, data)
    with serving(service_command(), env, tmp_path / "server.log", tmp_path) as server:
        server.wait("/metrics", 200, 120, "flight_delay_workers 2.0", "flight_delay_ready 0.0")
        first, second = server.worker_pids()
        os.kill(first, signal.SIGKILL)
        wait_until(
            lambda: len(pids := server.worker_pids()) == 2 and first not in pids,
            what="a worker in place of the killed one",
            timeout=60,
            process=server.process,
            log=server.log,
        )
        assert second in server.worker_pids()
        deliver_store(world.store, data)
        # Two workers, both ready: the killed worker's 1 and its 0 no longer count.
        server.wait_ready()
        # The alert's count (ServeWorkersKilled): the kill, once.
        server.wait("/metrics", 200, 10, "flight_delay_killed_workers_total 1.0")
    log = server.log.read_text()
    assert f"workers [{first}] were killed" in log
    # What the runbook (ServeNotReady) has an operator look for: each ready worker, the
    # replacement included, says so at INFO, which BentoML's server logging drops by default.
    loaded = re.findall(
        rf"serving flight-delay:\S+ \(scored by \S+\) with the data at {re.escape(str(data))}", log
    )
    assert len(loaded) == 2, log
