"""What the service loads before it is ready: the model, the training statistics and the online
store (the last two from the environment's serving data, serve.sources). Every failure, whatever
raised it, comes out as one LoadError naming what failed."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# threadpoolctl comes with scikit-learn (see BUILD).
from threadpoolctl import threadpool_limits  # pants: no-infer-dep

from model_registry.predictor import Predictor, load_predictor
from online_store.store import OnlineStore
from serve.drift import DriftMonitor
from serve.sources import ServingDataError, fetch

log = logging.getLogger("serve")
LoadKind = Literal["model", "serving_data", "statistics", "online_store"]


class LoadError(RuntimeError):
    """Loading `kind` failed; the message says which file and why."""

    def __init__(self, kind: LoadKind, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind: LoadKind = kind


@dataclass(frozen=True)
class Loaded:
    predictor: Predictor
    drift: DriftMonitor
    store: OnlineStore


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def load(model_dir: Path, data_location: str, wait_seconds: float) -> Loaded:
    """Load the predictor in `model_dir`, then the statistics and the online store from
    `data_location` (serve.sources), waiting up to `wait_seconds` for them to appear (the
    pipeline or the deploy job may still be writing them)."""
    # A model from another library version or a broken manifest can raise anything (pickle or
    # torch errors), hence the broad catches: each becomes a LoadError.
    try:
        predictor = load_predictor(model_dir)
    except Exception as error:
        raise LoadError("model", f"cannot load {model_dir}: {_reason(error)}") from error
    # One OpenMP thread per process: the service runs one worker per core, and a gradient
    # boosting model scoring a few rows in parallel waits at every tree for threads that the
    # other worker keeps busy (one flight measured at 7 ms on one thread, up to 800 ms on two
    # with the machine loaded). Set after the model is read, when its OpenMP runtime is loaded.
    threadpool_limits(limits=1, user_api="openmp")
    try:
        data = fetch(data_location, wait_seconds, log=log.warning)
    except ServingDataError as error:
        raise LoadError("serving_data", str(error)) from error
    try:
        with open(data.stats) as stats:
            drift = DriftMonitor(json.load(stats))
    except Exception as error:
        raise LoadError("statistics", f"cannot load {data.stats}: {_reason(error)}") from error
    try:
        store = OnlineStore(data.online_store)
    except Exception as error:
        raise LoadError(
            "online_store", f"cannot open {data.online_store}: {_reason(error)}"
        ) from error
    return Loaded(predictor, drift, store)
