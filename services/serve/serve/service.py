"""The BentoML service: flight-delay predictions from the promoted model, with features computed
online by the same code as the training table, the model call batched across concurrent
requests, readiness that waits (boundedly) for the model and the online store, and Prometheus
metrics."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from typing import Any, cast

import bentoml
import numpy as np
import pandas as pd
from bentoml.exceptions import ServiceUnavailable

from feature_definitions.errors import FeatureInputError
from online_store.store import BeforeDataStart, PastHorizon
from serve.batching import Batcher
from serve.errors import request_error
from serve.limits import (
    MAX_BATCH_ROWS,
    MAX_BODY_BYTES,
    MAX_CONCURRENCY,
    READY_WAIT_SECONDS,
    REQUEST_TIMEOUT_SECONDS,
)
from serve.loading import Loaded, LoadError, LoadState, load, one_openmp_thread
from serve.metrics import (
    BATCH_ROWS,
    DATA_HORIZON,
    DRIFT_WINDOW_ROWS,
    FEATURE_PSI,
    LOAD_FAILURES,
    OBSERVE_FAILURES,
    ORIGINS_WITHOUT_WEATHER,
    PROBABILITY,
    PSI_THRESHOLD,
    READY,
    REFUSED_REQUESTS,
    WORKERS,
    forget_killed_workers,
)
from serve.middleware import (
    BodyChecks,
    BodyLimit,
    JsonOnly,
    OpenApi30,
    ReadinessDetail,
    UnhandledErrors,
)
from serve.online_features import (
    UnknownDestination,
    check_destinations,
    flight_features,
    store_refusals,
)
from serve.schema import Flight, Prediction, PredictRequest, PredictResponse
from serve.settings import promoted_tag, use_model_store
from serve.sources import horizon_allowance, location, wait_seconds

use_model_store()
log = logging.getLogger("serve")
# BentoML's server logging leaves the root logger at WARNING, which would drop the INFO line of a
# successful load, the one the runbook has an operator look for (ServeNotReady).
log.setLevel(logging.INFO)

STATE = LoadState()


@bentoml.service(
    traffic={"timeout": REQUEST_TIMEOUT_SECONDS, "max_concurrency": MAX_CONCURRENCY},
    workers="cpu_count",
)
class FlightDelayService:
    model = bentoml.models.BentoModel(promoted_tag())

    def __init__(self) -> None:
        self.drift_lock = threading.Lock()
        self.batcher = Batcher(
            self._features,
            self._score,
            MAX_BATCH_ROWS,
            observe=self._observe,
            observe_failed=OBSERVE_FAILURES.inc,
        )
        killed = forget_killed_workers()
        if killed:
            log.warning("workers %s were killed; their gauges no longer count", killed)
        WORKERS.set(1)
        READY.set(0)
        # Loading takes seconds; the server answers /livez and a 503 /readyz meanwhile.
        threading.Thread(target=self._load, name="load", daemon=True).start()

    def _load(self) -> None:
        try:
            where = location(self.model.tag.version)
            loaded = load(self.model, where, wait_seconds(), horizon_allowance())
        except Exception as error:
            # Anything, not only LoadError: a loader thread that dies silently leaves /readyz
            # saying "loading" forever.
            kind = error.kind if isinstance(error, LoadError) else "unexpected"
            STATE.failed(str(error) if isinstance(error, LoadError) else repr(error))
            LOAD_FAILURES.labels(kind=kind).inc()
            log.exception("cannot load: %s", STATE.error)
            return
        PSI_THRESHOLD.set(loaded.psi_threshold)
        DATA_HORIZON.set(loaded.store.earliest_horizon.timestamp())
        ORIGINS_WITHOUT_WEATHER.set(len(loaded.store.weatherless))
        if loaded.store.weatherless:
            log.warning(
                "the online store holds no weather at %s: every flight from there is refused",
                ", ".join(loaded.store.weatherless),
            )
        STATE.succeeded(loaded)
        # What exists now (the libraries, the model, the store) lives as long as the worker.
        # Unfrozen, every full collection walked it all: a pause of 0.1 to 0.25 s for all of a
        # worker's requests about once a second under load (docs/benchmarks.md).
        gc.freeze()
        READY.set(1)
        log.info(
            "serving %s (scored by %s) with the data at %s",
            self.model.tag,
            loaded.predictor.engine,
            where,
        )

    def __is_ready__(self) -> bool:
        return STATE.loaded is not None

    def _ready(self) -> Loaded:
        """What this worker loaded; called from request threads, which wait for a load under
        way (READY_WAIT_SECONDS), then answer 503."""
        loaded = STATE.wait(READY_WAIT_SECONDS)
        if loaded is None:
            raise ServiceUnavailable(f"not ready: {STATE.error or 'loading the model and store'}")
        return loaded

    def _features(self, flights: list[Flight]) -> pd.DataFrame:
        store = self._ready().store
        # A pydantic validation error, not BentoML's InvalidArgument: BentoML answers the latter
        # with a one-element array, the former with the object every other 400 is (errors.py).
        try:
            check_destinations(flights, store)
            return flight_features(flights, store)
        except (UnknownDestination, PastHorizon, BeforeDataStart):
            # Refused: name every flight the store cannot score in one answer, for each reason
            # (the checks above stop at the first), off the path of the requests it scores.
            refused = store_refusals(flights, store)
            for reason in sorted({kind for _, kind, _ in refused}):
                REFUSED_REQUESTS.labels(reason=reason).inc()
            raise request_error(refused) from None
        except FeatureInputError as error:
            REFUSED_REQUESTS.labels(reason="feature_input").inc()
            raise request_error([(("flights",), "feature_input", str(error))]) from None

    def _score(self, features: pd.DataFrame) -> np.ndarray:
        one_openmp_thread()
        return self._ready().predictor.predict_proba(features)

    def _observe(self, features: pd.DataFrame, probabilities: np.ndarray) -> None:
        drift = self._ready().drift
        with self.drift_lock:
            for name, value in drift.update(features).items():
                FEATURE_PSI.labels(feature=name).set(value)
            DRIFT_WINDOW_ROWS.set(drift.rows)
        for probability in probabilities:
            PROBABILITY.observe(probability)
        # Last: a scrape that counts this batch's rows sees its drift and probabilities too.
        BATCH_ROWS.observe(len(features))

    @bentoml.api(input_spec=PredictRequest)
    async def predict(self, flights: list[Flight]) -> PredictResponse:
        """P(delayed) and the decision for each flight, in order."""
        # A worker still loading: each request waits (READY_WAIT_SECONDS) in a thread of its
        # own, not in the batcher's, where the waits would run one after another past the
        # request timeout (504s, and a queue that outlives the load).
        if STATE.loaded is None:
            await asyncio.to_thread(self._ready)
        # Features and the model in one thread hop: the batcher computes them in its thread.
        probabilities = await self.batcher(flights)
        threshold = self._ready().predictor.threshold
        return PredictResponse(
            model=str(self.model.tag),
            predictions=[
                Prediction(delay_probability=float(p), delayed=bool(p >= threshold))
                for p in probabilities
            ],
        )

    @bentoml.api(input_spec=PredictRequest)
    async def features(self, flights: list[Flight]) -> list[dict[str, Any]]:
        """The features /predict would feed the model, one object per flight."""
        frame = await asyncio.to_thread(self._features, flights)
        return [
            {str(name): value for name, value in row.items()}
            for row in frame.astype(object).to_dict("records")
        ]


# The decorator made the class a bentoml.Service; mypy still sees the class.
SERVICE = cast("bentoml.Service[FlightDelayService]", FlightDelayService)
# The first added is the outermost: UnhandledErrors answers for the others too.
SERVICE.add_asgi_middleware(UnhandledErrors)
SERVICE.add_asgi_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
SERVICE.add_asgi_middleware(JsonOnly)
SERVICE.add_asgi_middleware(BodyChecks)
SERVICE.add_asgi_middleware(ReadinessDetail, status=STATE.detail)
SERVICE.add_asgi_middleware(OpenApi30)
