import copy
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import model_registry.store as registry
from feature_definitions.features import Feature
from feature_definitions.weather import WEATHER_LEAD_HOURS
from model_registry.store import (
    CANDIDATE,
    METADATA_FEATURES_WEATHER_LEAD_HOURS,
    METADATA_FEATURES_WINDOW_DAYS,
    METADATA_PROMOTION,
    PROMOTED,
    REGISTERED,
    ROLE,
    STAGE,
    ModelStore,
    models,
    promoted_model,
)
from model_registry.testing import (
    die_registering,
    locked_by_another_process,
    model_files,
)
from train.conftest import TRAIN_END, VALIDATION_END, quick_params
from train.evaluate import Evaluation, evaluate_models, load_models
from train.metrics import HIGHER_IS_BETTER, beats, score
from train.params import PromoteParams
from train.promotion import (
    METADATA_FEATURES_SPLIT,
    Provenance,
    RegistrationError,
    decide,
    register_run,
)


def promote(margin: float) -> PromoteParams:
    return quick_params(**{"promote.margin": margin}).promote


def candidate_wins(run: Evaluation) -> PromoteParams:
    """Margin 0 and a metric on which the run's candidate scores at least the baseline: the
    candidate is the run's champion."""
    metrics = run.metrics
    for metric in HIGHER_IS_BETTER:
        if beats(metric, metrics["torch"][metric], metrics["baseline"][metric], 0.0):
            return quick_params(**{"promote.metric": metric, "promote.margin": 0.0}).promote
    raise AssertionError(f"the candidate beats the baseline on no metric: {metrics}")


SPLIT = {"train_end": TRAIN_END, "validation_end": VALIDATION_END}
# A pipeline run's: features with a window, a split and this code's weather lead.
PROVENANCE = Provenance(
    "abc123", False, "0123.dir", 7, {"train": {"seed": 0}}, SPLIT, WEATHER_LEAD_HOURS
)


def evaluation(trained: tuple[Path, Path], tmp_path: Path) -> Evaluation:
    features, models_dir = trained
    predictors = load_models(models_dir)
    return evaluate_models(features / "test.parquet", predictors, quick_params().evaluate)


def test_the_champion_is_the_candidate_only_if_it_beats_the_baseline_by_the_margin() -> None:
    better = decide("roc_auc", 0.005, {"torch": 0.72, "baseline": 0.71}, None)
    assert (better.champion, better.promoted) == ("torch", True)
    assert better.reason == (
        "promoted torch (torch 0.7200 beats baseline 0.7100 by 0.005): nothing was promoted yet"
    )
    close = decide("roc_auc", 0.005, {"torch": 0.712, "baseline": 0.71}, None)
    assert (close.champion, close.promoted) == ("baseline", True)
    # For log_loss lower wins.
    assert decide("log_loss", 0.01, {"torch": 0.40, "baseline": 0.42}, None).champion == "torch"


def test_a_promoted_model_is_replaced_only_by_a_champion_better_by_the_margin() -> None:
    scores = {"torch": 0.72, "baseline": 0.71}
    kept = decide("roc_auc", 0.005, scores, ("promoted m:1", 0.718))
    assert not kept.promoted
    assert kept.scores == {**scores, "promoted m:1": 0.718}
    assert kept.reason == (
        "not promoted: torch (torch 0.7200 beats baseline 0.7100 by 0.005) roc_auc 0.7200 "
        "does not beat promoted m:1 0.7180 by 0.005"
    )
    replaced = decide("roc_auc", 0.005, scores, ("promoted m:1", 0.70))
    assert replaced.promoted and replaced.reason.startswith("promoted: torch")


def stage_of(store: ModelStore, tag: str) -> str:
    return next(m.info.labels[STAGE] for m in models(store) if str(m.tag) == tag)


def test_a_champion_that_passes_is_promoted_and_one_that_fails_is_kept(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    store = model_store
    run = evaluation(trained, tmp_path)
    # The candidate beats the baseline, and nothing is promoted yet.
    first = register_run(run, trained[1], store, candidate_wins(run), PROVENANCE)
    assert first["promoted"] == first["candidate"]
    assert stage_of(store, first["candidate"]) == PROMOTED
    assert stage_of(store, first["baseline"]) == REGISTERED
    current = promoted_model(store)
    assert current is not None and str(current.tag) == first["candidate"]

    # The same model again cannot beat itself, re-scored on the test split, by a margin.
    beaten_by = candidate_wins(run).model_copy(update={"margin": 0.001})
    second = register_run(run, trained[1], store, beaten_by, PROVENANCE)
    assert second["promoted"] is None
    assert f"promoted {first['candidate']}" in second["decision"]["scores"]
    assert second["decision"]["reason"].startswith("not promoted: ")
    assert stage_of(store, second["candidate"]) == REGISTERED
    assert stage_of(store, second["baseline"]) == REGISTERED
    assert len(models(store)) == 4
    current = promoted_model(store)
    assert current is not None and str(current.tag) == first["candidate"]
    candidate = next(m for m in models(store) if str(m.tag) == second["candidate"])
    assert candidate.info.labels[ROLE] == CANDIDATE
    metadata: dict[str, Any] = dict(candidate.info.metadata)
    assert metadata[METADATA_PROMOTION]["promoted"] is False


def test_the_first_run_promotes_the_baseline_when_the_candidate_does_not_earn_its_cost(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    """A margin no model can clear: the baseline is the champion, and with nothing promoted
    yet it is served, so a first pipeline run always ends with a model to serve."""
    store = model_store
    run = evaluation(trained, tmp_path)
    first = register_run(run, trained[1], store, promote(1.0), PROVENANCE)
    assert first["decision"]["champion"] == "baseline"
    assert first["promoted"] == first["baseline"]
    assert stage_of(store, first["baseline"]) == PROMOTED
    assert stage_of(store, first["candidate"]) == REGISTERED
    assert first["decision"]["reason"].endswith("nothing was promoted yet")
    # Once a model serves, the same margin keeps it.
    second = register_run(run, trained[1], store, promote(1.0), PROVENANCE)
    assert second["promoted"] is None
    current = promoted_model(store)
    assert current is not None and str(current.tag) == first["baseline"]


def test_a_promoted_model_with_another_feature_schema_is_left_out_and_named(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    store = model_store
    run = evaluation(trained, tmp_path)
    # The incumbent was trained on a feature set this run no longer has.
    older = copy.copy(run.predictors["torch"])
    older.features = (*older.features, Feature("retired_feature", "numeric"))
    older.save(tmp_path / "older")
    incumbent = registry.register(store, tmp_path / "older", {STAGE: PROMOTED}, {})

    second = register_run(run, trained[1], store, candidate_wins(run), PROVENANCE)
    assert second["promoted"] == second["candidate"]
    assert sorted(second["decision"]["scores"]) == ["baseline", "torch"]
    (note,) = second["decision"]["notes"]
    assert f"promoted model {incumbent} reads other features" in note
    assert "retired_feature" in note


def test_a_promoted_model_of_another_weather_lead_is_left_out_and_named(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    """Before, a model trained on the departure hour's weather was scored on this run's, a day
    earlier, and kept when the run's champion did not beat that score by the margin."""
    store = model_store
    run = evaluation(trained, tmp_path)
    # The run's own candidate, registered before the lead was recorded (a window, no lead).
    run.predictors["torch"].save(tmp_path / "older")
    incumbent = registry.register(
        store, tmp_path / "older", {STAGE: PROMOTED}, {METADATA_FEATURES_WINDOW_DAYS: 7}
    )
    with_lead = dataclasses.replace(PROVENANCE, features_weather_lead_hours=24)
    second = register_run(run, trained[1], store, promote(0.005), with_lead)
    assert second["promoted"] is not None
    (note,) = second["decision"]["notes"]
    assert f"promoted model {incumbent} was trained on the weather 0 hours before" in note
    assert "24 hours before: it cannot score this split" in note
    baseline = next(m for m in models(store) if str(m.tag) == second["baseline"])
    assert baseline.info.metadata[METADATA_FEATURES_WEATHER_LEAD_HOURS] == 24


def test_a_promoted_model_that_records_no_weather_lead_is_replaced_and_named(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    """One that records neither window nor lead (SageMaker's per-split channels, a table made by
    hand, a registration before either was recorded): which hour's weather it was trained on
    is unknown, and the gate would not promote it today. Before, it was scored on this run's
    features and, by a margin it wins, kept."""
    store = model_store
    run = evaluation(trained, tmp_path)
    incumbent = registry.register(store, trained[1] / "torch", {STAGE: PROMOTED}, {})
    second = register_run(run, trained[1], store, promote(0.5), PROVENANCE)
    assert second["promoted"] == second[second["decision"]["champion"]]
    assert sorted(second["decision"]["scores"]) == ["baseline", "torch"]
    (note,) = second["decision"]["notes"]
    assert f"the promoted model {incumbent} records no weather lead" in note
    assert "the run's champion, of this code's lead (24 hours), replaces it" in note
    current = promoted_model(store)
    assert current is not None and str(current.tag) == second["promoted"]


@pytest.mark.parametrize(
    ("window_days", "lead", "why"),
    [
        # Features built before the lead was recorded: the departure hour's weather.
        (7, None, "this run's features record no weather lead"),
        # SageMaker's per-split channels, a table made by hand: nothing says which weather.
        (None, None, "this run's features record no weather lead"),
        (7, 48, "this run's features have the weather 48 hours before departure"),
    ],
)
def test_a_champion_without_this_codes_weather_lead_is_never_promoted(
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    window_days: int | None,
    lead: int | None,
    why: str,
) -> None:
    """Before, with nothing promoted, it was: a model serve refuses (or, with no record at all,
    one given weather of another hour than it may have been trained on)."""
    store = model_store
    run = evaluation(trained, tmp_path)
    provenance = dataclasses.replace(
        PROVENANCE, features_window_days=window_days, features_weather_lead_hours=lead
    )
    first = register_run(run, trained[1], store, promote(0.0), provenance)
    assert first["promoted"] is None
    assert promoted_model(store) is None
    reason = first["decision"]["reason"]
    assert reason.startswith(f"not promoted: {first['decision']['champion']} (")
    assert why in reason
    assert "serving gives each flight the weather 24 hours before" in reason
    assert stage_of(store, first["candidate"]) == stage_of(store, first["baseline"]) == REGISTERED

    # A promoted model of this code's lead is kept, unjudged by such a run.
    incumbent = promoted_with_split(store, trained[1], SPLIT)
    second = register_run(run, trained[1], store, promote(0.0), provenance)
    assert second["promoted"] is None
    assert sorted(second["decision"]["scores"]) == ["baseline", "torch"]
    current = promoted_model(store)
    assert current is not None and str(current.tag) == incumbent


def truncate_weights(model: Path) -> None:
    weights = model / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:-8])  # truncated on disk


def drop_a_feature(model: Path) -> None:
    manifest = model / "predictor.json"
    content = json.loads(manifest.read_text())
    content["features"] = content["features"][:-1]
    manifest.write_text(json.dumps(content))


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (truncate_weights, "ModelIntegrityError.*weights.pt"),
        (drop_a_feature, "predictor.json has sha256"),
    ],
    ids=["weights truncated", "manifest changed"],
)
def test_any_other_failure_to_compare_stops_the_gate_and_promotes_nothing(
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    damage: Callable[[Path], None],
    named: str,
) -> None:
    """A promoted model's manifest changed after registration was read, unverified, as another
    feature schema: the model was replaced unjudged, where a file that fails verification stops
    the gate."""
    store = model_store
    run = evaluation(trained, tmp_path)
    first = register_run(run, trained[1], store, candidate_wins(run), PROVENANCE)
    current = promoted_model(store)
    assert current is not None
    damage(Path(current.path))

    expected = f"{first['candidate']} cannot be compared.*{named}.*nothing was"
    with pytest.raises(RegistrationError, match=expected):
        register_run(run, trained[1], store, candidate_wins(run), PROVENANCE)
    assert len(models(store)) == 2
    still = promoted_model(store)
    assert still is not None and str(still.tag) == first["candidate"]


def test_a_rolled_back_model_is_never_compared_against(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    store = model_store
    run = evaluation(trained, tmp_path)
    first = register_run(run, trained[1], store, candidate_wins(run), PROVENANCE)
    registry.roll_back(store, "bad deploy")
    second = register_run(run, trained[1], store, candidate_wins(run), PROVENANCE)
    assert not any(name.startswith("promoted ") for name in second["decision"]["scores"])
    assert second["decision"]["reason"].endswith("nothing was promoted yet")
    current = promoted_model(store)
    assert current is not None and str(current.tag) == second["candidate"] != first["candidate"]


def test_the_gate_reads_compares_and_registers_under_the_store_lock(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    run = evaluation(trained, tmp_path)
    with locked_by_another_process(model_store, 2.0) as released:
        register_run(run, trained[1], model_store, candidate_wins(run), PROVENANCE)
        assert released.exists()


def test_registration_needs_both_models(tmp_path: Path, model_store: ModelStore) -> None:
    run = Evaluation(predictors={}, metrics={"torch": {"roc_auc": 0.7}}, test=(None, None))  # type: ignore[arg-type]
    with pytest.raises(RegistrationError, match="needs both the baseline and the torch model"):
        register_run(run, tmp_path, model_store, quick_params().promote, PROVENANCE)


@pytest.mark.parametrize("dead", [False, True], ids=["", "beside a registration that died"])
def test_a_failed_save_registers_nothing_and_the_next_run_registers(
    trained: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    model_store: ModelStore,
    dead: bool,
) -> None:
    """Beside a registration killed before its model.yaml, removing the baseline failed in
    BentoML: the run stopped with BentoML's "does not contain a 'model.yaml'", not saying
    nothing was registered, and every later run failed the same way."""
    store = model_store
    if dead:
        die_registering(store, model_files(tmp_path / "files"), with_model_yaml=False)
    real = registry.register
    calls: list[Any] = []

    def fail_on_the_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr("train.promotion.register", fail_on_the_second)
    run = evaluation(trained, tmp_path)
    expected = f"cannot register the models in the store at {store.home}: disk full; nothing"
    with pytest.raises(RegistrationError, match=expected):
        register_run(run, trained[1], store, quick_params().promote, PROVENANCE)
    assert models(store) == []
    monkeypatch.setattr("train.promotion.register", real)
    registered = register_run(run, trained[1], store, quick_params().promote, PROVENANCE)
    assert {str(m.tag) for m in models(store)} == {registered["baseline"], registered["candidate"]}


def promoted_with_split(store: ModelStore, models_dir: Path, split: dict[str, str] | None) -> str:
    """The run's own PyTorch model registered as the promoted one, with `split` as the features
    split its registration records (None: none recorded, as before the record existed), and
    this code's window and weather lead."""
    metadata: dict[str, Any] = {
        METADATA_FEATURES_WINDOW_DAYS: 7,
        METADATA_FEATURES_WEATHER_LEAD_HOURS: WEATHER_LEAD_HOURS,
    }
    if split is not None:
        metadata[METADATA_FEATURES_SPLIT] = split
    return str(registry.register(store, models_dir / "torch", {STAGE: PROMOTED}, metadata))


def test_a_promoted_model_is_compared_only_on_the_test_flights_after_its_validation_end(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    """A model trained and validated through Nov 15 has seen half of this run's test month:
    scored on all of it, it is flattered. It and the champion are scored on Nov 16-30 only."""
    run = evaluation(trained, tmp_path)
    incumbent = promoted_with_split(
        model_store, trained[1], {"train_end": "2013-11-08", "validation_end": "2013-11-15"}
    )
    params = candidate_wins(run)
    decision = register_run(run, trained[1], model_store, params, PROVENANCE)["decision"]

    assert run.test_dates is not None
    unseen = run.test_dates > dt.date(2013, 11, 15)
    assert 0 < unseen.sum() < len(unseen)
    frame, label = run.test[0][unseen], run.test[1][unseen]
    torch = run.predictors["torch"]
    on_unseen = score(label, torch.predict_proba(frame), torch.threshold)[params.metric]
    assert on_unseen != run.metrics["torch"][params.metric]
    rows = f"the {int(unseen.sum())} test flights after 2013-11-15 (unseen by the promoted model)"
    assert decision["scores"][f"promoted {incumbent}"] == on_unseen
    assert decision["scores"][f"torch on {rows}"] == on_unseen
    assert decision["reason"].endswith(f"by 0.0 on {rows}")
    assert decision["notes"] == []


@pytest.mark.parametrize(
    ("split", "why"),
    [
        # Trained through the whole test month (a `dvc exp run -S features.split...`, or a
        # split change reverted): no test flight is unseen by it.
        ({"train_end": "2013-11-15", "validation_end": "2013-11-30"}, "none is unseen by it"),
    ],
)
def test_a_promoted_model_without_unseen_test_flights_stays_and_is_named(
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    split: dict[str, str] | None,
    why: str,
) -> None:
    run = evaluation(trained, tmp_path)
    incumbent = promoted_with_split(model_store, trained[1], split)
    # A champion from flights older than the incumbent saw: it must not replace it unjudged.
    second = register_run(run, trained[1], model_store, promote(0.0), PROVENANCE)
    assert second["promoted"] is None
    current = promoted_model(model_store)
    assert current is not None and str(current.tag) == incumbent
    assert sorted(second["decision"]["scores"]) == ["baseline", "torch"]
    (note,) = second["decision"]["notes"]
    assert f"the promoted model {incumbent}" in note and why in note
    assert "it stays and nothing is promoted" in note
    assert second["decision"]["reason"].endswith(
        f"the promoted model {incumbent} could not be compared on flights it has not seen, "
        "and stays (notes)"
    )


def test_a_promoted_model_registered_before_splits_were_recorded_is_compared_on_the_whole_split(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    """Left out, it would be replaced unjudged by the first run after an upgrade."""
    run = evaluation(trained, tmp_path)
    incumbent = promoted_with_split(model_store, trained[1], None)
    # A margin the incumbent, the same model, wins by: it stays.
    params = promote(0.5)
    second = register_run(run, trained[1], model_store, params, PROVENANCE)
    assert second["promoted"] is None
    decision = second["decision"]
    assert decision["scores"][f"promoted {incumbent}"] == run.metrics["torch"][params.metric]
    (note,) = decision["notes"]
    assert f"the promoted model {incumbent} records no split" in note
    assert "compared on the whole test split" in note
