"""The serving benchmark's limit over HTTP: a bare Starlette app on uvicorn that does the work of
`POST /predict` (validate, compute the features from the online store, predict) with nothing
else: no BentoML, no batching, no metrics.

    python -m benchmarks.bare_asgi --workers 2 --port 3000

It finds the model, the statistics and the online store as the service does (settings.py).

Not `uvicorn --workers N`: uvicorn binds that listening socket without IPPROTO_TCP, so asyncio
never sets TCP_NODELAY on its connections, and every keep-alive request after the first waits
about 40 ms for the client's delayed ACK (Kludex/uvicorn#3149). This module binds the socket
itself and runs one uvicorn server per worker process on it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import socket
from collections.abc import Sequence
from types import FrameType

import numpy as np

# Starlette and pydantic come with bentoml (see BUILD).
from pydantic import ValidationError  # pants: no-infer-dep
from starlette.applications import Starlette  # pants: no-infer-dep
from starlette.concurrency import run_in_threadpool  # pants: no-infer-dep
from starlette.requests import Request  # pants: no-infer-dep
from starlette.responses import JSONResponse, Response  # pants: no-infer-dep
from starlette.routing import Route  # pants: no-infer-dep

from benchmarks import arguments
from serve.loading import Loaded, load, one_openmp_thread
from serve.online_features import check_destinations, flight_features
from serve.schema import Flight, PredictRequest
from serve.settings import promoted_tag, tag_version, use_model_store
from serve.sources import location, wait_seconds


def score_flights(flights: Sequence[Flight], loaded: Loaded) -> np.ndarray:
    """What /predict computes for validated flights, in-process: features, then the model."""
    one_openmp_thread()
    check_destinations(flights, loaded.store)
    features = flight_features(flights, loaded.store)
    return loaded.predictor.predict_proba(features)


def promoted() -> tuple[str, str]:
    """The promoted model's tag and version (the version names its serving data)."""
    use_model_store()
    tag = promoted_tag()
    version = tag_version(tag)
    if version is None:  # promoted_tag() returns tags of the model only
        raise SystemExit(f"the promoted tag {tag} names no version")
    return tag, version


def load_promoted() -> tuple[str, Loaded]:
    """The promoted model (its tag and the loaded objects), as the service finds it."""
    tag, version = promoted()  # first: it points BentoML at the model store
    import bentoml

    model = bentoml.models.get(tag)
    loaded = load(model, location(version), wait_seconds())
    return str(model.tag), loaded


def create_app() -> Starlette:
    tag, loaded = load_promoted()

    async def predict(request: Request) -> Response:
        try:
            flights = PredictRequest.model_validate_json(await request.body()).flights
        except ValidationError as error:
            return JSONResponse({"error": error.errors(include_url=False)}, status_code=400)
        try:
            probabilities = await run_in_threadpool(score_flights, flights, loaded)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        threshold = loaded.predictor.threshold
        predictions = [
            {"delay_probability": float(p), "delayed": bool(p >= threshold)} for p in probabilities
        ]
        return JSONResponse({"model": tag, "predictions": predictions})

    async def readyz(_: Request) -> Response:
        return Response("ready")

    return Starlette(
        routes=[Route("/predict", predict, methods=["POST"]), Route("/readyz", readyz)]
    )


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP listener whose accepted connections asyncio sets TCP_NODELAY on (it checks the
    socket's proto, which must say TCP)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _serve(sock: socket.socket, log_level: str) -> None:
    import uvicorn  # pants: no-infer-dep

    config = uvicorn.Config(create_app, factory=True, log_level=log_level)
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the bare ASGI endpoint, one process per worker")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--workers", type=arguments.count, default=multiprocessing.cpu_count())
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    sock = listening_socket(args.host, args.port)
    # Forked before anything heavy is imported: each worker loads the model itself.
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_serve, args=(sock, args.log_level), daemon=True)
        for _ in range(args.workers)
    ]
    for worker in workers:
        worker.start()

    def stop(signum: int, _: FrameType | None) -> None:
        for worker in workers:
            worker.terminate()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()
    raise SystemExit(max(abs(w.exitcode or 0) for w in workers))


if __name__ == "__main__":
    main()
