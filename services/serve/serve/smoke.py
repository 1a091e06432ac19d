"""Smoke test of a built Bento: serve it on a free loopback port, wait for /readyz, predict one
example flight, stop the server. Exits non-zero when any step fails.

  ./pants run services/serve:smoke -- [bento tag, default flight_delay_service:latest]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import httpx

from loopback.ports import free_port
from loopback.processes import NeverReady, stop, wait_until
from serve.settings import use_model_store

BENTO = "flight_delay_service:latest"
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


class SmokeError(RuntimeError):
    pass


def smoke(
    bento: str = BENTO,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    flights: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Serve `bento`, predict `flights` (default: EXAMPLE), return the response body."""
    port = free_port()
    command = [sys.executable, "-m", "bentoml", "serve", bento]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=dict(env if env is not None else os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200,
            what=f"{bento} answering /readyz",
            timeout=timeout,
            interval=0.5,
            process=process,
            retry_on=(httpx.TransportError,),
        )
        body = {"flights": flights or [EXAMPLE]}
        response = httpx.post(f"{url}/predict", json=body, timeout=60)
        if response.status_code != 200:
            raise SmokeError(f"/predict answered {response.status_code}: {response.text}")
        answer: dict[str, Any] = response.json()
        return answer
    except NeverReady as error:
        raise SmokeError(str(error)) from None
    finally:
        stop(process)


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
