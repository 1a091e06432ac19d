"""The BentoML service: flight-delay predictions from the promoted model, with features computed
online by the same code as the training table, adaptive batching of the model calls, readiness
that waits for the model and the online store, and Prometheus metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import bentoml
import numpy as np
import pandas as pd
from bentoml.exceptions import InvalidArgument, ServiceUnavailable

from feature_definitions.errors import FeatureInputError
from model_registry.predictor import Predictor, PredictorError, load_predictor
from online_store.store import OnlineStore, OnlineStoreError
from serve.drift import DriftMonitor
from serve.online_features import online_features
from serve.schema import Flight, Prediction, PredictRequest, PredictResponse, flights_frame
from serve.settings import online_store_path, promoted_tag, stats_path, use_model_store

use_model_store()
log = logging.getLogger("serve")
# How often the loader looks again for an online store that is not there yet.
STORE_POLL_SECONDS = 0.5

PROBABILITY = bentoml.metrics.Histogram(
    name="flight_delay_probability",
    documentation="Predicted probability that a flight arrives more than 15 minutes late",
    buckets=tuple(i / 10 for i in range(1, 11)),
)
FEATURE_PSI = bentoml.metrics.Gauge(
    name="flight_delay_feature_psi",
    documentation="Population stability index of each feature, recent requests vs. train split",
    labelnames=["feature"],
)
# What /readyz says, as a metric Prometheus can alert on without probing: 1 once the model, the
# training statistics and the online store are loaded, else 0. One value per worker; "livemin"
# exports the lowest over the live workers (no pid label), so one worker not ready reads 0.
READY = bentoml.metrics.Gauge(
    name="flight_delay_ready",
    documentation="1 when the model, the training statistics and the online store are loaded",
    multiprocess_mode="livemin",
)


@bentoml.service(traffic={"timeout": 30})
class FlightDelayService:
    model = bentoml.models.BentoModel(promoted_tag())

    def __init__(self) -> None:
        self.predictor: Predictor | None = None
        self.store: OnlineStore | None = None
        self.drift: DriftMonitor | None = None
        self.drift_lock = threading.Lock()
        self.load_error: str | None = None
        READY.set(0)
        # Loading takes seconds; the server answers /livez and a 503 /readyz meanwhile.
        threading.Thread(target=self._load, name="load", daemon=True).start()

    def _load(self) -> None:
        try:
            self.predictor = load_predictor(Path(self.model.path))
            with open(stats_path()) as stats:
                self.drift = DriftMonitor(json.load(stats))
            path = online_store_path()
            while not path.is_file():
                time.sleep(STORE_POLL_SECONDS)
            self.store = OnlineStore(path)
            READY.set(1)
            log.info("serving %s with the online store %s", self.model.tag, path)
        except (OSError, ValueError, OnlineStoreError) as error:
            self.load_error = str(error)
            log.error("cannot load: %s", error)

    def __is_ready__(self) -> bool:
        return self.predictor is not None and self.store is not None and self.drift is not None

    def _features(self, flights: list[Flight]) -> pd.DataFrame:
        store = self.store
        if store is None or not self.__is_ready__():
            raise ServiceUnavailable(
                f"not ready: {self.load_error or 'loading the model and store'}"
            )
        for position, flight in enumerate(flights):
            if flight.dest not in store.airports:
                raise InvalidArgument(f"flights.{position}.dest: unknown airport {flight.dest!r}")
        try:
            return online_features(flights_frame(flights), store)
        except FeatureInputError as error:
            raise InvalidArgument(f"flights: {error}") from None

    @bentoml.api(input_spec=PredictRequest)
    async def predict(self, flights: list[Flight]) -> PredictResponse:
        """P(delayed) and the decision for each flight, in order."""
        features = await asyncio.to_thread(self._features, flights)
        rows = features.astype(object).to_dict("records")
        probabilities = np.asarray(await self.to_async.score(rows), dtype="float64")  # type: ignore[attr-defined]
        assert self.predictor is not None
        threshold = self.predictor.threshold
        for probability in probabilities:
            PROBABILITY.observe(probability)
        await asyncio.to_thread(self._observe_drift, features)
        return PredictResponse(
            model=str(self.model.tag),
            predictions=[
                Prediction(delay_probability=float(p), delayed=bool(p >= threshold))
                for p in probabilities
            ],
        )

    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=4096, max_latency_ms=1000)
    def score(self, rows: list[dict[str, Any]]) -> list[float]:
        """The model call, batched across concurrent requests (used by /predict)."""
        if self.predictor is None:
            raise ServiceUnavailable("not ready: the model is loading")
        try:
            probabilities = self.predictor.predict_proba(pd.DataFrame(rows))
        except PredictorError as error:
            # /score is reachable from outside too; a bad row is the caller's error.
            raise InvalidArgument(f"rows: {error}") from None
        return [float(p) for p in probabilities]

    @bentoml.api(input_spec=PredictRequest)
    async def features(self, flights: list[Flight]) -> list[dict[str, Any]]:
        """The features /predict would feed the model, one object per flight."""
        frame = await asyncio.to_thread(self._features, flights)
        return [
            {str(name): value for name, value in row.items()}
            for row in frame.astype(object).to_dict("records")
        ]

    def _observe_drift(self, features: pd.DataFrame) -> None:
        if self.drift is None:
            return
        with self.drift_lock:
            for name, value in self.drift.update(features).items():
                FEATURE_PSI.labels(feature=name).set(value)
