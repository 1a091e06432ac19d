"""What the service loads before it is ready: the model, the training statistics and the online
store (the last two from the environment's serving data, serve.sources). Every failure, whatever
raised it, comes out as one LoadError naming what failed."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

# threadpoolctl comes with scikit-learn (see BUILD).
from threadpoolctl import threadpool_limits  # pants: no-infer-dep

from feature_definitions.drift_monitoring import NOT_DRIFT_MONITORED
from feature_definitions.trailing_window import WINDOW_DAYS_KEY, trailing_window
from feature_definitions.weather import (
    WEATHER_LEAD_HOURS,
    WEATHER_LEAD_HOURS_KEY,
    weather_lead_hours,
)
from model_registry.predictor import Predictor
from model_registry.store import (
    Model,
    load_registered,
    trained_window,
    weather_lead_problem,
)
from online_store.store import HORIZON_ALLOWANCE, OnlineStore
from serve.drift import DriftMonitor, StatisticsError, psi_threshold, recorded
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
    # The PSI above which a feature has drifted, from the statistics file.
    psi_threshold: float
    store: OnlineStore


class LoadState:
    """What this worker's loader has done, for /readyz and for requests (one per process, like
    the metrics). Readiness is a worker's own: a load balancer's /readyz reaches one worker, and
    a request after it may reach another that is a moment behind, so a request waits (bounded)
    for its worker's load to end instead of answering 503 at once."""

    def __init__(self) -> None:
        self.loaded: Loaded | None = None
        self.error: str | None = None
        self._ended = threading.Event()

    def succeeded(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self._ended.set()

    def failed(self, error: str) -> None:
        self.error = error
        self._ended.set()

    def wait(self, seconds: float) -> Loaded | None:
        """What was loaded; while the load is under way, wait for it at most `seconds`. None
        if it failed or is still under way."""
        if self.loaded is None:
            self._ended.wait(seconds)
        return self.loaded

    def detail(self) -> dict[str, str] | None:
        """/readyz's 503 body: None once loaded."""
        if self.loaded is not None:
            return None
        if self.error is not None:
            return {"status": "failed", "error": self.error}
        return {"status": "loading", "waiting_for": "the model, statistics and online store"}


_SCORING_THREAD = threading.local()


def one_openmp_thread() -> None:
    """Limit OpenMP to one thread in the calling thread, once per thread; call it where the
    model scores. The service runs one worker per core, and a gradient boosting model scoring
    a few rows in parallel waits at every tree for threads the other worker keeps busy: one
    flight measured 7 ms on one thread, 90 to 800 ms on two with the machine loaded. OpenMP's
    thread count is a setting of each thread, so setting it where the model loads is not
    enough (a worker scores in its executor's threads)."""
    if not getattr(_SCORING_THREAD, "limited", False):
        threadpool_limits(limits=1, user_api="openmp")
        _SCORING_THREAD.limited = True


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def features_window(stats: dict[str, Any], source: str) -> pd.Timedelta:
    """The trailing window the statistics' features were computed over, read from the file
    `source`."""
    return recorded(stats, WINDOW_DAYS_KEY, "features.window_days", source, trailing_window)


def check_weather_lead(stats: dict[str, Any], source: str) -> None:
    """StatisticsError unless the statistics, read from the file `source`, record the weather
    lead this code computes the features with (WEATHER_LEAD_HOURS): statistics of another lead
    describe other weather features than the service computes."""
    if WEATHER_LEAD_HOURS_KEY not in stats:
        raise StatisticsError(
            f"{source} has no {WEATHER_LEAD_HOURS_KEY!r} key (written by the feature build): it "
            "was built before the weather features had a lead, from the departure hour's "
            "weather; rebuild it (dvc repro features)"
        )
    try:
        lead = weather_lead_hours(stats[WEATHER_LEAD_HOURS_KEY], repr(WEATHER_LEAD_HOURS_KEY))
    except ValueError as error:
        raise StatisticsError(f"{source}: {error}; rebuild them (dvc repro features)") from None
    if lead != WEATHER_LEAD_HOURS:
        raise StatisticsError(
            f"{source}: {WEATHER_LEAD_HOURS_KEY!r} is {lead!r}, and this service gives each "
            f"flight the weather {WEATHER_LEAD_HOURS} hours before departure: the statistics "
            "describe other weather features; rebuild them with this code (dvc repro features)"
        )


def _days(window: pd.Timedelta) -> str:
    return f"{window / pd.Timedelta(days=1):g} days"


def load(
    model: Model,
    data_location: str,
    wait_seconds: float,
    allowance: pd.Timedelta = HORIZON_ALLOWANCE,
) -> Loaded:
    """Load the registered `model` once every file, predictor.json included, matches the hashes
    its registration recorded; then the statistics and the online store from `data_location`
    (serve.sources), waiting up to `wait_seconds` for them to appear (the pipeline or the
    deploy job may still be writing them). The store must have been built with the trailing
    window of the model's features, where its registration recorded it, and of the statistics'
    (feature_definitions.trailing_window), and the model's features and the statistics must
    have this code's weather lead (feature_definitions.weather.WEATHER_LEAD, where the model's
    registration recorded it). The store refuses departures past its data horizon by more than
    `allowance` (serve.sources.horizon_allowance)."""
    # A model from another library version or a broken manifest can raise anything (pickle or
    # torch errors), hence the broad catches: each becomes a LoadError.
    try:
        predictor = load_registered(model)
        model_window = trained_window(model)
        lead_problem = weather_lead_problem(model)
    except Exception as error:
        raise LoadError(
            "model", f"cannot load {model.tag} at {model.path}: {_reason(error)}"
        ) from error
    if lead_problem is not None:
        raise LoadError(
            "model",
            f"{lead_problem}; serve a model trained on this code's features (./pants run "
            "//:main, then promote it)",
        )
    try:
        data = fetch(data_location, wait_seconds, log=log.warning)
    except ServingDataError as error:
        raise LoadError("serving_data", str(error)) from error
    try:
        with open(data.stats) as stats:
            content = json.load(stats)
        if not isinstance(content, dict):
            raise StatisticsError(
                f"{data.stats} is not a JSON object of statistics: it holds a "
                f"{type(content).__name__}"
            )
        threshold = psi_threshold(content, str(data.stats))
        window = features_window(content, str(data.stats))
        check_weather_lead(content, str(data.stats))
        try:
            drift = DriftMonitor(content)
        except StatisticsError as error:
            raise StatisticsError(f"{data.stats}: {error}") from None
        # Statistics of another feature build would leave the model's features unwatched (but
        # those the drift monitor never watches: NOT_DRIFT_MONITORED).
        unwatched = [
            f.name
            for f in predictor.features
            if f.name not in drift.features and f.name not in NOT_DRIFT_MONITORED
        ]
        if unwatched:
            raise StatisticsError(
                f"{data.stats} has no statistics of {', '.join(unwatched)}, which the model "
                "uses: it is from another feature build than the model's"
            )
    except StatisticsError as error:
        raise LoadError("statistics", str(error)) from error
    except Exception as error:
        raise LoadError("statistics", f"cannot load {data.stats}: {_reason(error)}") from error
    try:
        store = OnlineStore(data.online_store, allowance)
    except Exception as error:
        raise LoadError(
            "online_store", f"cannot open {data.online_store}: {_reason(error)}"
        ) from error
    if model_window is not None and store.window != model_window:
        raise LoadError(
            "online_store",
            f"{data.online_store} was built with a trailing window of {_days(store.window)} and "
            f"{model.tag} was trained on features computed over {_days(model_window)}: the "
            "service would count each flight's history over another window than the model was "
            "trained on; serve a model trained with the store's window, or build the store "
            f"with the model's (feature online-store --window-days {model_window.days})",
        )
    if store.window != window:
        raise LoadError(
            "online_store",
            f"{data.online_store} was built with a trailing window of {_days(store.window)} and "
            f"the features of {data.stats} with {_days(window)}: the service would count each "
            "flight's history over another window than the model was trained on; build both "
            "with params.yaml's features.window_days (dvc repro online_store)",
        )
    return Loaded(predictor, drift, threshold, store)
