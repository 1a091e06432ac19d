"""What the service loads before it is ready: the model, the training statistics and the online
store. Every failure, whatever raised it, comes out as one LoadError naming what failed."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from model_registry.predictor import Predictor, load_predictor
from online_store.store import OnlineStore
from serve.drift import DriftMonitor

log = logging.getLogger("serve")
# How often the loader looks again for an online store that is not there yet.
STORE_POLL_SECONDS = 0.5
LoadKind = Literal["model", "statistics", "online_store"]


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


def load(
    model_dir: Path,
    stats_path: Path,
    store_path: Path,
    wait_seconds: float,
    poll_seconds: float = STORE_POLL_SECONDS,
) -> Loaded:
    """Load the predictor in `model_dir`, the drift monitor of the statistics at `stats_path`
    and the online store at `store_path`, waiting up to `wait_seconds` for the store file to
    appear (the pipeline may still be writing it)."""
    # A model from another library version or a broken manifest can raise anything (pickle,
    # skops, torch errors), hence the broad catches: each becomes a LoadError.
    try:
        predictor = load_predictor(model_dir)
    except Exception as error:
        raise LoadError("model", f"cannot load {model_dir}: {_reason(error)}") from error
    try:
        with open(stats_path) as stats:
            drift = DriftMonitor(json.load(stats))
    except Exception as error:
        raise LoadError("statistics", f"cannot load {stats_path}: {_reason(error)}") from error
    deadline = time.monotonic() + wait_seconds
    if not store_path.is_file():
        log.warning("waiting up to %.0f s for the online store at %s", wait_seconds, store_path)
    while not store_path.is_file():
        if time.monotonic() >= deadline:
            raise LoadError(
                "online_store", f"no online store at {store_path} after waiting {wait_seconds:g} s"
            )
        time.sleep(poll_seconds)
    try:
        store = OnlineStore(store_path)
    except Exception as error:
        raise LoadError("online_store", f"cannot open {store_path}: {_reason(error)}") from error
    return Loaded(predictor, drift, store)
