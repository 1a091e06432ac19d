import json
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import cast

import pandas as pd
import pytest

from feature_definitions.drift_monitoring import NOT_DRIFT_MONITORED
from feature_definitions.features import FEATURES
from model_registry.errors import RegistryError
from model_registry.store import METADATA_FILES_SHA256, Model, ModelStore, promoted_model, roll_back
from serve.loading import LoadError, LoadState, load, one_openmp_thread
from serve.sources import ONLINE_STORE, STATS
from serve.testing import FEATURE_STATS, WINDOW_DAYS, register_model, write_empty_store


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A serving-data directory with the statistics; each test adds its online store."""
    root = tmp_path / "data"
    (root / STATS).parent.mkdir(parents=True)
    (root / STATS).write_text(json.dumps(FEATURE_STATS))
    (root / ONLINE_STORE).parent.mkdir(parents=True)
    return root


def test_everything_loads(model: Model, data: Path) -> None:
    write_empty_store(data / ONLINE_STORE)
    loaded = load(model, str(data), wait_seconds=0)
    assert loaded.predictor.threshold == 0.5
    # Every feature of the model but those a time split never shares with the train split.
    assert loaded.drift.features == tuple(
        f.name for f in FEATURES if f.name not in NOT_DRIFT_MONITORED
    )
    assert "month_of_year" not in loaded.drift.features
    assert loaded.psi_threshold == 0.3
    assert loaded.store.window == pd.Timedelta(days=WINDOW_DAYS)
    # The store's default allowance past its data horizon, unless the service passes its own.
    assert loaded.store.allowance == pd.Timedelta(days=1)
    assert load(model, str(data), 0, pd.Timedelta(hours=3)).store.allowance == pd.Timedelta(hours=3)


def test_statistics_need_none_of_the_features_drift_does_not_watch(
    model: Model, data: Path
) -> None:
    write_empty_store(data / ONLINE_STORE)
    stats = json.loads((data / STATS).read_text())
    for name in NOT_DRIFT_MONITORED:
        del stats["features"][name]
    (data / STATS).write_text(json.dumps(stats))
    assert load(model, str(data), wait_seconds=0).drift.features == tuple(
        f.name for f in FEATURES if f.name not in NOT_DRIFT_MONITORED
    )


def test_statistics_that_miss_a_feature_of_the_model_are_a_statistics_error(
    model: Model, data: Path
) -> None:
    write_empty_store(data / ONLINE_STORE)
    stats = json.loads((data / STATS).read_text())
    del stats["features"][FEATURES[0].name]
    (data / STATS).write_text(json.dumps(stats))
    with pytest.raises(LoadError, match=f"no statistics of {FEATURES[0].name}, which the model"):
        load(model, str(data), wait_seconds=0)


@pytest.mark.parametrize(
    ("key", "change", "named"),
    [
        ("proportions", lambda p: [*p, 0.0], r"\d+ proportions for \d+ edges, expected"),
        ("proportions", lambda p: [str(v) for v in p], "histogram proportions must be a list"),
        ("proportions", lambda p: [None for _ in p], "histogram proportions must be a list"),
        ("proportions", lambda p: [-0.1 for _ in p], "histogram proportions must be at least 0"),
        ("edges", lambda e: [*e, e[-1]], "histogram edges must be increasing"),
    ],
)
def test_a_histogram_that_is_no_distribution_is_a_statistics_error(
    model: Model,
    data: Path,
    key: str,
    change: Callable[[list[float]], list[object]],
    named: str,
) -> None:
    """Every batch's drift update would fail (or bin wrongly): drift unwatched."""
    write_empty_store(data / ONLINE_STORE)
    stats = json.loads((data / STATS).read_text())
    numeric = next(f.name for f in FEATURES if f.kind == "numeric")
    histogram = stats["features"][numeric]["histogram"]
    histogram[key] = change(histogram[key])
    (data / STATS).write_text(json.dumps(stats))
    with pytest.raises(LoadError, match=f"stats.json: feature '{numeric}': {named}") as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "statistics"


def test_a_broken_manifest_is_a_model_error(model: Model, data: Path) -> None:
    manifest = Path(model.path) / "predictor.json"
    manifest.write_text("{not json")
    with pytest.raises(LoadError, match=f"{manifest} has sha256") as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "model"
    assert str(model.tag) in str(error.value)


def test_a_changed_model_file_is_a_model_error(model: Model, data: Path) -> None:
    recorded = cast(dict[str, str], model.info.metadata[METADATA_FILES_SHA256])
    for name in recorded:
        if name != "predictor.json":
            (Path(model.path) / name).write_bytes(b"\x80\x04garbage")
    with pytest.raises(LoadError, match="ModelIntegrityError") as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "model"


def test_an_edited_manifest_that_still_reads_well_is_refused(model: Model, data: Path) -> None:
    """predictor.json records the other files' hashes, so only the registry's record covers
    predictor.json itself: a plausible edit (another threshold) must not be served."""
    write_empty_store(data / ONLINE_STORE)
    manifest = Path(model.path) / "predictor.json"
    content = json.loads(manifest.read_text())
    content["threshold"] = 0.9
    manifest.write_text(json.dumps(content))
    with pytest.raises(LoadError, match="the registry record of") as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "model"
    assert "predictor.json" in str(error.value)


def test_bad_statistics_are_a_statistics_error(model: Model, data: Path) -> None:
    write_empty_store(data / ONLINE_STORE)
    (data / STATS).write_text(json.dumps({**FEATURE_STATS, "features": {"x": {"kind": "numeric"}}}))
    with pytest.raises(LoadError, match="KeyError") as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "statistics"


def test_statistics_that_are_not_an_object_name_the_file(model: Model, data: Path) -> None:
    write_empty_store(data / ONLINE_STORE)
    (data / STATS).write_text("[1]")
    with pytest.raises(LoadError) as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "statistics"
    assert str(error.value) == (
        f"statistics: {data / STATS} is not a JSON object of statistics: it holds a list"
    )


@pytest.mark.parametrize("key", ["psi_threshold", "window_days"])
def test_statistics_without_a_recorded_parameter_name_the_file_and_the_key(
    model: Model, data: Path, key: str
) -> None:
    write_empty_store(data / ONLINE_STORE)
    # A stats.json from a feature build older than the key: no default stands in.
    (data / STATS).write_text(json.dumps({k: v for k, v in FEATURE_STATS.items() if k != key}))
    with pytest.raises(LoadError) as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "statistics"
    assert str(data / STATS) in str(error.value)
    assert f"has no {key!r} key" in str(error.value)
    assert "dvc repro features" in str(error.value)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("psi_threshold", "0.2", "'psi_threshold' must be a number, got '0.2'"),
        ("psi_threshold", True, "'psi_threshold' must be a number, got True"),
        ("psi_threshold", 0, "'psi_threshold' must be a positive finite number, got 0"),
        ("psi_threshold", -0.1, "'psi_threshold' must be a positive finite number, got -0.1"),
        ("window_days", "7", "'window_days' must be a whole number of days, got '7'"),
        ("window_days", 7.0, "'window_days' must be a whole number of days, got 7.0"),
        ("window_days", True, "'window_days' must be a whole number of days, got True"),
        ("window_days", 0, "'window_days' must be between 1 and 3650, got 0"),
        ("window_days", 3651, "'window_days' must be between 1 and 3650, got 3651"),
    ],
)
def test_a_recorded_parameter_of_the_wrong_kind_is_a_statistics_error(
    model: Model, data: Path, key: str, value: object, message: str
) -> None:
    write_empty_store(data / ONLINE_STORE)
    (data / STATS).write_text(json.dumps({**FEATURE_STATS, key: value}))
    with pytest.raises(LoadError, match=message) as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "statistics"
    assert str(data / STATS) in str(error.value)


@pytest.mark.parametrize(
    ("model_days", "stats_days", "store_days", "named", "remedy"),
    [
        # Statistics of another build than the store (the model's window unrecorded).
        (None, 7, 90, "the features of {stats} with 7 days: ", "(dvc repro online_store)"),
        (None, 8, 7, "the features of {stats} with 8 days: ", "(dvc repro online_store)"),
        (None, 3650, 1, "the features of {stats} with 3650 days: ", "(dvc repro online_store)"),
        # Statistics and store agree (the pipeline ran with a new window) but the served model
        # was trained before it.
        (
            14,
            7,
            7,
            "{tag} was trained on features computed over 14 days: ",
            "(feature online-store --window-days 14)",
        ),
    ],
)
def test_a_store_of_another_window_than_the_models_features_is_refused(
    model_store: ModelStore,
    tmp_path: Path,
    data: Path,
    model_days: int | None,
    stats_days: int,
    store_days: int,
    named: str,
    remedy: str,
) -> None:
    """Its history features would count another window's flights than the model's did."""
    model = register_model(model_store, tmp_path / "model", window_days=model_days)
    write_empty_store(data / ONLINE_STORE, window_days=store_days)
    (data / STATS).write_text(json.dumps({**FEATURE_STATS, "window_days": stats_days}))
    with pytest.raises(LoadError) as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "online_store"
    assert str(error.value).startswith(
        f"online_store: {data / ONLINE_STORE} was built with a trailing window of "
        f"{store_days} days and " + named.format(stats=data / STATS, tag=model.tag)
    )
    assert remedy in str(error.value)


def test_a_model_registered_without_its_window_is_checked_against_the_statistics_only(
    model_store: ModelStore, tmp_path: Path, data: Path
) -> None:
    """A model registered before the window was recorded, or from SageMaker's split channels."""
    unrecorded = register_model(model_store, tmp_path / "model", window_days=None)
    write_empty_store(data / ONLINE_STORE)
    assert load(unrecorded, str(data), wait_seconds=0).store.window == pd.Timedelta(
        days=WINDOW_DAYS
    )
    write_empty_store(data / ONLINE_STORE, window_days=WINDOW_DAYS + 1)
    with pytest.raises(LoadError, match=f"the features of {data / STATS} with 7 days"):
        load(unrecorded, str(data), wait_seconds=0)


@pytest.mark.parametrize("recorded", ["7", 0, 7.5])
def test_a_recorded_window_that_is_not_one_is_a_model_error(
    model_store: ModelStore, tmp_path: Path, data: Path, recorded: object
) -> None:
    broken = register_model(model_store, tmp_path / "model", window_days=recorded)
    write_empty_store(data / ONLINE_STORE)
    with pytest.raises(LoadError) as error:
        load(broken, str(data), wait_seconds=0)
    assert error.value.kind == "model"
    assert f"{broken.tag}'s 'features_window_days' must be " in str(error.value)


def test_the_wait_for_the_serving_data_is_bounded(model: Model, data: Path) -> None:
    with pytest.raises(
        LoadError, match=f"{ONLINE_STORE} not found .* after waiting 0.2 s"
    ) as error:
        load(model, str(data), wait_seconds=0.2)
    assert error.value.kind == "serving_data"


def test_a_foreign_store_file_is_a_store_error(model: Model, data: Path) -> None:
    (data / ONLINE_STORE).write_text("not a database")
    with pytest.raises(LoadError, match="not an online store") as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "online_store"


@pytest.mark.parametrize(
    ("written", "dropped", "lacked"),
    # Format 1 recorded no data horizon, format 2 no data start, format 3 not the origins its
    # flights left from: no default stands in for any, the store is rebuilt.
    [
        ("1", "DELETE FROM meta WHERE key IN ('horizon_ns', 'start_ns')", "its data horizon"),
        ("2", "DELETE FROM meta WHERE key = 'start_ns'", "its data start"),
        ("3", "DROP TABLE origins", "the origins its flights left from"),
    ],
    ids=["format 1", "format 2", "format 3"],
)
def test_a_store_of_an_older_format_is_named_with_what_to_run(
    model: Model, data: Path, written: str, dropped: str, lacked: str
) -> None:
    write_empty_store(data / ONLINE_STORE)
    with closing(sqlite3.connect(data / ONLINE_STORE)) as db:
        db.executescript(f"UPDATE meta SET value = '{written}' WHERE key = 'format'; {dropped}")
    with pytest.raises(LoadError) as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "online_store"
    assert str(error.value) == (
        f"online_store: cannot open {data / ONLINE_STORE}: OnlineStoreError: "
        f"{data / ONLINE_STORE}: format '{written}', expected 4 (written before the store "
        f"recorded {lacked}: rebuild it from the curated data, dvc repro online_store)"
    )


def test_scoring_threads_use_one_openmp_thread() -> None:
    import sklearn.ensemble  # noqa: F401 (loads scikit-learn's OpenMP runtime)
    from threadpoolctl import threadpool_info  # pants: no-infer-dep

    seen: list[set[int]] = []

    def score() -> None:
        one_openmp_thread()
        one_openmp_thread()  # once per thread; a second call changes nothing
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"})

    thread = threading.Thread(target=score)
    thread.start()
    thread.join()
    assert seen == [{1}]


def test_a_request_waits_for_a_load_under_way_and_gets_what_it_loaded(
    model: Model, data: Path
) -> None:
    write_empty_store(data / ONLINE_STORE)
    state = LoadState()
    seen: list[object] = []
    waiter = threading.Thread(target=lambda: seen.append(state.wait(60)))
    waiter.start()
    assert state.detail() == {
        "status": "loading",
        "waiting_for": "the model, statistics and online store",
    }
    loaded = load(model, str(data), wait_seconds=0)
    state.succeeded(loaded)
    waiter.join(timeout=10)
    # The waiter woke when the load ended, long before its 60 s.
    assert not waiter.is_alive() and seen == [loaded]
    assert state.detail() is None


def test_the_wait_is_bounded_and_a_failed_load_ends_it_at_once() -> None:
    state = LoadState()
    assert state.wait(0.05) is None
    state.failed("statistics: no psi_threshold")
    waiter = threading.Thread(target=lambda: state.wait(60))
    waiter.start()
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert state.detail() == {"status": "failed", "error": "statistics: no psi_threshold"}


@pytest.mark.parametrize(
    ("lead", "named"),
    [
        (None, "has no 'weather_lead_hours' key (written by the feature build): it was built "
               "before the weather features had a lead"),
        (0, "'weather_lead_hours' is 0, and this service gives each flight the weather 24 hours "
            "before departure"),
        ("24", "'weather_lead_hours' must be a whole number of hours >= 0, got '24'"),
        (24.0, "'weather_lead_hours' must be a whole number of hours >= 0, got 24.0"),
        (True, "'weather_lead_hours' must be a whole number of hours >= 0, got True"),
    ],
)  # fmt: skip
def test_statistics_of_another_weather_lead_are_a_statistics_error(
    model: Model, data: Path, lead: object, named: str
) -> None:
    """They describe other weather features than the service computes (ADR 0019)."""
    stats = {k: v for k, v in FEATURE_STATS.items() if k != "weather_lead_hours"}
    (data / STATS).write_text(
        json.dumps(stats if lead is None else {**stats, "weather_lead_hours": lead})
    )
    write_empty_store(data / ONLINE_STORE)
    with pytest.raises(LoadError) as error:
        load(model, str(data), wait_seconds=0)
    assert error.value.kind == "statistics"
    assert named in str(error.value) and str(data / STATS) in str(error.value)
    assert "dvc repro features" in str(error.value)


@pytest.mark.parametrize(
    ("window_days", "lead", "named"),
    [
        # Registered before the lead was recorded: its weather was the departure hour's.
        (WINDOW_DAYS, None, "the weather 0 hours before departure (registered before the lead "
                            "was recorded)"),
        (WINDOW_DAYS, 0, "the weather 0 hours before departure and"),
        (None, 48, "the weather 48 hours before departure and"),
    ],
)  # fmt: skip
def test_a_model_trained_on_another_weather_lead_is_a_model_error(
    model_store: ModelStore,
    tmp_path: Path,
    data: Path,
    window_days: int | None,
    lead: int | None,
    named: str,
) -> None:
    """Before, a model trained on the departure hour's weather was served the weather of a day
    earlier, without a word."""
    old = register_model(
        model_store, tmp_path / "m", window_days=window_days, weather_lead_hours=lead
    )
    write_empty_store(data / ONLINE_STORE)
    with pytest.raises(LoadError) as error:
        load(old, str(data), wait_seconds=0)
    assert error.value.kind == "model"
    assert f"{old.tag} was trained on {named}" in str(error.value)
    assert "serving gives each flight the weather 24 hours before" in str(error.value)


def test_a_model_that_records_neither_window_nor_lead_is_checked_against_the_statistics(
    model_store: ModelStore, tmp_path: Path, data: Path
) -> None:
    """From SageMaker's split channels or a table made by hand: nothing says which lead."""
    bare = register_model(model_store, tmp_path / "m", window_days=None, weather_lead_hours=None)
    write_empty_store(data / ONLINE_STORE)
    assert load(bare, str(data), wait_seconds=0).store.window == pd.Timedelta(days=WINDOW_DAYS)


@pytest.mark.parametrize(
    ("window_days", "lead", "refused"),
    [
        (WINDOW_DAYS, None, True),  # registered before the lead was recorded
        (WINDOW_DAYS, 0, True),
        (None, 48, True),
        (WINDOW_DAYS, 24, False),
        (None, None, False),  # nothing says which lead: checked against the statistics
    ],
)
def test_a_rollback_never_leaves_serving_a_model_the_service_refuses_for_its_lead(
    model_store: ModelStore,
    tmp_path: Path,
    data: Path,
    window_days: int | None,
    lead: int | None,
    refused: bool,
) -> None:
    """Before, `train rollback` to a model promoted before ADR 0019 succeeded, and serve then
    refused to start on it. The rollback and the service apply one rule."""
    before = register_model(
        model_store, tmp_path / "before", window_days=window_days, weather_lead_hours=lead
    )
    served = register_model(model_store, tmp_path / "served")
    write_empty_store(data / ONLINE_STORE)
    if refused:
        with pytest.raises(RegistryError, match=f"cannot roll back {served.tag}"):
            roll_back(model_store, "bad p99")
        still = promoted_model(model_store)
        assert still is not None and still.tag == served.tag
        with pytest.raises(LoadError, match=f"{before.tag} was trained on the weather"):
            load(before, str(data), wait_seconds=0)
    else:
        pulled, serving = roll_back(model_store, "bad p99")
        assert pulled == served.tag
        assert serving is not None and serving.tag == before.tag
        load(serving, str(data), wait_seconds=0)
