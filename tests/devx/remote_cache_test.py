"""The shared build cache: a second, clean checkout's `./pants test` is served by the first's
results through a real REAPI server (BuildGrid, tools:buildgrid) on loopback.

Each checkout gets its own empty local store (--local-store-dir), as a CI runner or a colleague's
machine would have, so every cache hit in the second run must have come from the server.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback.ports import accepts_connections
from loopback.processes import start_server, stop
from tests.build.repo_copy import SANDBOX_ROOT, PantsRun, RepoCopy

BUILDGRID_PEX = SANDBOX_ROOT / "tools" / "buildgrid.pex"
CONFIG = SANDBOX_ROOT / "tools" / "remote_cache" / "buildgrid.yml"
# A small target with real work to cache: building its requirement PEXes and running pytest.
TARGET = "libs/storage::"


@pytest.fixture(scope="module")
def remote_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the repo's BuildGrid configuration on a free loopback port; stop it afterwards."""
    workdir = tmp_path_factory.mktemp("buildgrid")
    text = CONFIG.read_text()
    assert '"127.0.0.1:50051"' in text

    def command_at(port: int) -> list[str]:
        config = workdir / "buildgrid.yml"
        config.write_text(text.replace('"127.0.0.1:50051"', f'"127.0.0.1:{port}"'))
        return [sys.executable, str(BUILDGRID_PEX), "server", "start", str(config)]

    server, port = start_server(
        command_at,
        started=lambda _, port: accepts_connections(port),
        what="BuildGrid",
        log=workdir / "buildgrid.log",
        timeout=120,
    )
    try:
        yield f"grpc://127.0.0.1:{port}"
    finally:
        stop(server)


def stats(run: PantsRun) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"^\s+(remote_cache_\w+): (\d+)$", run.stderr, re.M)}


def pants_test_with_remote_cache(repo: RepoCopy, store: str, local_store: Path) -> PantsRun:
    # The settings README.md documents, as flags; --stats-log prints the cache counters.
    return repo.pants(
        "--remote-cache-read",
        "--remote-cache-write",
        f"--remote-store-address={store}",
        "--remote-instance-name=main",
        f"--local-store-dir={local_store}",
        "--stats-log",
        "test",
        TARGET,
    )


def test_a_clean_second_checkout_gets_remote_cache_hits(
    remote_store: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The checkouts sit at different paths, as two worktrees or two CI workspaces do: no test
    # outside the `machine_tests` macro's has the checkout path in its environment (pants.toml,
    # [test] extra_env_vars). The first is deleted before the second exists.
    base = tmp_path_factory.mktemp("checkouts")
    first = RepoCopy.create(base / "first")
    warm = pants_test_with_remote_cache(first, remote_store, base / "first-lmdb_store")
    assert warm.exit_code == 0, warm.stderr
    written = stats(warm)
    assert written["remote_cache_write_successes"] > 0, written
    assert written["remote_cache_write_errors"] == 0, written
    shutil.rmtree(first.root)

    second = RepoCopy.create(base / "second")
    hit = pants_test_with_remote_cache(second, remote_store, base / "second-lmdb_store")
    assert hit.exit_code == 0, hit.stderr
    served = stats(hit)
    assert served["remote_cache_read_errors"] == 0, served
    assert served["remote_cache_requests_cached"] > 0, served
    assert served["remote_cache_requests_uncached"] == 0, served
    # (Pants names a batch of test files by its first, whichever that is.)
    assert re.search(
        r"storage/\w+_test\.py:tests( and \d+ other files?)? succeeded .*\(cached remotely\)",
        hit.stderr,
    ), hit.stderr
