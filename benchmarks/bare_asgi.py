"""The serving benchmark's limit over HTTP: a bare Starlette app on uvicorn that does the work of
`POST /predict` (validate, compute the features from the online store, predict) with nothing
else: no BentoML, no batching, no metrics.

    python -m uvicorn benchmarks.bare_asgi:create_app --factory --workers 2 --port 3000

It finds the model, the statistics and the online store as the service does (settings.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Starlette and pydantic come with bentoml (see BUILD).
from pydantic import ValidationError  # pants: no-infer-dep
from starlette.applications import Starlette  # pants: no-infer-dep
from starlette.concurrency import run_in_threadpool  # pants: no-infer-dep
from starlette.requests import Request  # pants: no-infer-dep
from starlette.responses import JSONResponse, Response  # pants: no-infer-dep
from starlette.routing import Route  # pants: no-infer-dep

from serve.loading import Loaded, load, one_openmp_thread
from serve.online_features import check_destinations, flight_features
from serve.schema import Flight, PredictRequest
from serve.settings import promoted_tag, use_model_store
from serve.sources import location, wait_seconds


def score_flights(flights: Sequence[Flight], loaded: Loaded) -> np.ndarray:
    """What /predict computes for validated flights, in-process: features, then the model."""
    one_openmp_thread()
    check_destinations(flights, loaded.store)
    features = flight_features(flights, loaded.store)
    return loaded.predictor.predict_proba(features)


def load_promoted() -> tuple[str, Loaded]:
    """The promoted model (its tag and the loaded objects), as the service finds it."""
    use_model_store()
    import bentoml

    model = bentoml.models.get(promoted_tag())
    loaded = load(Path(model.path), location(), wait_seconds())
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
