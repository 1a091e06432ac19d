"""Smoke test of a built Bento: serve it on a free loopback port, wait for /readyz, predict one
example flight, stop the server. Exits non-zero when any step fails.

  ./pants run services/serve:smoke -- [bento tag, default flight_delay_service:latest]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from loopback.processes import NeverReady, answers_200, start_server, stop
from serve.settings import StoreServed, check_store_unserved, use_model_store

BENTO = "flight_delay_service:latest"
# Leaving (06:15 in New York, 1 November 2013) inside the data of the pipeline's store
# (params.yaml's land range, August to November): its trailing windows are full, so the main
# job's smoke run scores it on the features the model was trained on.
EXAMPLE: dict[str, Any] = {
    "carrier": "UA",
    "flight": 1545,
    "tailnum": "N14228",
    "origin": "EWR",
    "dest": "IAH",
    "time_hour": "2013-11-01T10:00:00Z",
    "sched_dep_time": 615,
    "sched_arr_time": 919,
    "distance": 1400,
}


SERVE = [sys.executable, "-m", "bentoml", "serve"]


class SmokeError(RuntimeError):
    pass


def smoke(
    bento: str = BENTO,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    flights: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Serve `bento`, predict `flights` (default: EXAMPLE), return the response body. The
    server's output is in a temporary log, whose end a failure to start includes."""
    try:
        check_store_unserved(env if env is not None else os.environ)
    except StoreServed as error:
        raise SmokeError(str(error)) from None
    with tempfile.TemporaryDirectory(prefix="serve-smoke-") as logs:
        try:
            process, port = start_server(
                lambda port: [*SERVE, bento, "--host", "127.0.0.1", "--port", str(port)],
                started=lambda _, port: answers_200(f"http://127.0.0.1:{port}/readyz"),
                what=bento,
                log=Path(logs) / "server.log",
                timeout=timeout,
                env=dict(env if env is not None else os.environ),
                # `bentoml serve` puts its working directory first on the import path: one that
                # holds only the log, so the Bento serves its own code or fails, never the caller's.
                cwd=Path(logs),
            )
        except NeverReady as error:
            raise SmokeError(str(error)) from None
        try:
            body = {"flights": flights or [EXAMPLE]}
            response = httpx.post(f"http://127.0.0.1:{port}/predict", json=body, timeout=60)
        finally:
            stop(process)
    if response.status_code != 200:
        raise SmokeError(f"/predict answered {response.status_code}: {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="serve-smoke", description=__doc__)
    parser.add_argument("bento", nargs="?", default=BENTO)
    args = parser.parse_args(argv)
    use_model_store()
    try:
        answer = smoke(args.bento)
    except SmokeError as error:
        print(f"serve-smoke: error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
