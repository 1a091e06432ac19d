"""Test support: serving data the service loads for a model over the feature set (statistics of
every feature, an empty online store), and that model, registered; request bodies as no JSON
encoder writes them, departures in a time_hour's hour, and flights leaving at an instant."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.dummy import DummyClassifier

from feature_definitions.features import FEATURES
from feature_definitions.planes import PLANE_LOOKUP_COLUMNS
from feature_definitions.weather import (
    WEATHER_COLUMNS,
    WEATHER_LEAD_HOURS,
    WEATHER_LEAD_HOURS_KEY,
)
from model_registry.predictor import SklearnPredictor
from model_registry.store import (
    CANDIDATE,
    KIND,
    METADATA_FEATURES_WEATHER_LEAD_HOURS,
    METADATA_FEATURES_WINDOW_DAYS,
    PROMOTED,
    ROLE,
    STAGE,
    Model,
    ModelStore,
    get,
    register,
)
from online_store.store import write_store
from serve.schema import EARLIEST_HOUR, LATEST_HOUR, NEW_YORK
from serve.sources import ONLINE_STORE, STATS

# The trailing window of the statistics below and of the stores written here.
WINDOW_DAYS = 7

# Statistics of every feature the model uses (the feature build writes real ones).
FEATURE_STATS: dict[str, Any] = {
    "features": {
        f.name: {"kind": "numeric", "histogram": {"edges": [0.0], "proportions": [0.5, 0.5]}}
        if f.kind == "numeric"
        else {"kind": "categorical", "proportions": {"a": 1.0}}
        for f in FEATURES
    },
    "psi_threshold": 0.3,
    "window_days": WINDOW_DAYS,
    WEATHER_LEAD_HOURS_KEY: WEATHER_LEAD_HOURS,
}


def register_model(
    store: ModelStore,
    directory: Path,
    window_days: object = WINDOW_DAYS,
    stage: str = PROMOTED,
    weather_lead_hours: object = WEATHER_LEAD_HOURS,
) -> Model:
    """A model over FEATURES, labelled `stage` (promoted by default), trained (so its record
    says) on features computed over `window_days` with the weather `weather_lead_hours` before
    departure (None: not recorded), its files saved in `directory` first."""
    fitted = DummyClassifier().fit([[0], [1]], [0, 1])
    SklearnPredictor(fitted, FEATURES, threshold=0.5).save(directory)
    labels = {ROLE: CANDIDATE, KIND: SklearnPredictor.kind, STAGE: stage}
    recorded = {
        METADATA_FEATURES_WINDOW_DAYS: window_days,
        METADATA_FEATURES_WEATHER_LEAD_HOURS: weather_lead_hours,
    }
    metadata = {key: value for key, value in recorded.items() if value is not None}
    return get(store, register(store, directory, labels, metadata))


# The data horizon of the empty stores written here: the end of the hours the request model
# accepts, so that no valid flight is refused for its departure (it has no history either way).
EMPTY_STORE_HORIZON = pd.Timestamp(LATEST_HOUR, tz="UTC")


def empty_store_start(window_days: int) -> pd.Timestamp:
    """The data start of the empty stores written here: a day (the largest UTC offset of a
    time_hour) and the window before the first hour the request model accepts, so that no
    valid flight is refused for its window's start either."""
    return pd.Timestamp(EARLIEST_HOUR, tz="UTC") - pd.Timedelta(days=1 + window_days)


def write_empty_store(
    path: Path,
    window_days: int = WINDOW_DAYS,
    horizon: pd.Timestamp = EMPTY_STORE_HORIZON,
    start: pd.Timestamp | None = None,
) -> Path:
    """An online store with no rows at `path`, built with a window of `window_days`, its data
    horizon `horizon` and its data start `start` (empty_store_start by default)."""
    instants = pd.Series([], dtype="datetime64[ns, UTC]")
    weather = pd.DataFrame(
        {"origin": [], "time_hour": instants, **{c: [] for c in WEATHER_COLUMNS}}
    )
    planes = pd.DataFrame({c: [] for c in PLANE_LOOKUP_COLUMNS})
    airports = pd.DataFrame({"faa": [], "tzone": []})
    events = pd.DataFrame({"carrier": [], "origin": [], "arrival": instants, "delayed": []})
    window = pd.Timedelta(days=window_days)
    start = empty_store_start(window_days) if start is None else start
    write_store(path, weather, planes, airports, events, window, horizon, start, origins=())
    return path


def write_serving_data(root: Path, stats: dict[str, Any] = FEATURE_STATS) -> Path:
    """A directory in the pipeline's layout that the service loads for register_model's model,
    as the features and online_store stages leave it (`stats` for its statistics)."""
    (root / STATS).parent.mkdir(parents=True, exist_ok=True)
    (root / STATS).write_text(json.dumps(stats))
    (root / ONLINE_STORE).parent.mkdir(parents=True, exist_ok=True)
    write_empty_store(root / ONLINE_STORE)
    return root


def written(flight: dict[str, Any], field: str, text: str) -> bytes:
    """The body of a request of `flight` whose `field` is written as `text`, as no JSON encoder
    writes it (a key given twice, a number as long as no float holds)."""
    return json.dumps({"flights": [{**flight, field: "?"}]}).replace('"?"', text).encode()


def departure(time_hour: str, minute: int) -> int:
    """The sched_dep_time (HHMM) at `minute` past `time_hour`'s hour in New York time (a
    time_hour without an offset is New York's), which the request model requires."""
    when = dt.datetime.fromisoformat(time_hour)
    local = when if when.tzinfo is None else when.astimezone(NEW_YORK)
    return local.hour * 100 + minute


def leaving_at(flight: dict[str, Any], when: dt.datetime) -> dict[str, Any]:
    """The request flight `flight` scheduled to leave at `when` (aware; seconds dropped): its
    time_hour that hour in UTC, its sched_dep_time that minute in New York."""
    hour = when.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0).isoformat()
    return {**flight, "time_hour": hour, "sched_dep_time": departure(hour, when.minute)}
