"""Registration in the BentoML store and the promotion gate.

Both models of a run are registered, with their predictors' files and metadata (git commit,
DVC hash of the features, params, test metrics). The gate then picks at most one of them to
label `stage=promoted`, the label serving loads:

1. The run's champion is the PyTorch model if its test metric beats the baseline's by the
   margin, else the baseline: the more complex model has to earn its cost.
2. If a model is promoted already, it is re-scored on the test flights of this run that depart
   after its own validation split ended (a model scored on another period is not comparable,
   and one scored on flights it was trained or validated on is flattered), and the champion,
   scored on those same flights, replaces it only if it beats it by the margin. The documented
   exceptions, each noted in the decision: a promoted model with a different feature schema
   (it can neither score this split nor serve these features), or trained on the weather at
   another lead before departure or at none recorded (ADR 0019), is replaced by the champion; one
   with no test flight it has not seen (its validation ended after this run's test flights, or
   they leave one class only) stays, unjudged, and nothing is promoted; one whose registration
   records no split (registered before it was recorded) is compared on the whole test split.
   Anything else that stops the comparison (a file that fails verification, checked before
   its schema is read, a model that cannot load or score) stops the gate: nothing is
   registered or promoted, and the error says why. A rolled-back model is never the one
   compared against.
3. If nothing is promoted yet, the champion is (the first promotion), so a fresh clone's pipeline
   always ends with a model to serve. docs/adr/0008-first-promotion.md explains why.
4. A run whose features do not record this code's weather lead promotes nothing, whatever the
   scores: serving would give its models the weather of another hour than they learnt.

A model that is not promoted is kept, labelled `stage=registered`, and the decision says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from feature_definitions.weather import WEATHER_LEAD_HOURS, WEATHER_LEAD_HOURS_KEY
from model_registry.errors import PredictorError
from model_registry.predictor import read_manifest
from model_registry.store import (
    BASELINE,
    CANDIDATE,
    KIND,
    METADATA_FEATURES_DVC_HASH,
    METADATA_FEATURES_WEATHER_LEAD_HOURS,
    METADATA_FEATURES_WINDOW_DAYS,
    METADATA_GIT_COMMIT,
    METADATA_GIT_DIRTY,
    METADATA_METRICS,
    METADATA_PARAMS,
    METADATA_PROMOTION,
    PROMOTED,
    REGISTERED,
    ROLE,
    STAGE,
    Model,
    ModelStore,
    delete,
    load_registered,
    promoted_model,
    register,
    registry_lock,
    trained_weather_lead,
    verify_registered,
)
from train.errors import TrainError
from train.evaluate import Evaluation
from train.metrics import beats, score
from train.params import PromoteParams

CANDIDATE_MODEL = "torch"
BASELINE_MODEL = "baseline"
# Registration metadata: the split boundaries of the features the model was trained on
# ({"train_end", "validation_end"}, New York dates), from the feature build's summary.json.
METADATA_FEATURES_SPLIT = "features_split"


class RegistrationError(TrainError):
    """The run's models cannot be registered as a pair; the message says why."""


@dataclass(frozen=True)
class Decision:
    promoted: bool
    # The run's model that competed for serving: CANDIDATE_MODEL or BASELINE_MODEL.
    champion: str
    metric: str
    margin: float
    # Every model compared, by name, with its value of the metric on this test split: the run's
    # two models and, when there is one, the currently promoted model ("promoted <tag>").
    scores: dict[str, float]
    reason: str
    notes: list[str] = field(default_factory=list)


def decide(
    metric: str,
    margin: float,
    run_scores: dict[str, float],
    current: tuple[str, float] | None,
    notes: list[str] | None = None,
    compared: tuple[str, dict[str, float]] | None = None,
    unjudged: str | None = None,
    refused: str | None = None,
) -> Decision:
    """The gate's rule on scores alone. `run_scores` holds the run's candidate and baseline,
    `current` the promoted model's name and score, or None when nothing is promoted or it could
    not be scored. `compared`, when the promoted model was scored on part of the test split
    only, names those rows and holds the run's two models' scores on them: the champion is
    compared on those. `unjudged` names a promoted model no flight could judge: it stays.
    `refused` says why no model of this run may be promoted: nothing is."""
    candidate, baseline = run_scores[CANDIDATE_MODEL], run_scores[BASELINE_MODEL]
    if beats(metric, candidate, baseline, margin):
        champion = CANDIDATE_MODEL
        why = f"{CANDIDATE_MODEL} {candidate:.4f} beats {BASELINE_MODEL} {baseline:.4f} by {margin}"
    else:
        champion = BASELINE_MODEL
        why = (
            f"{CANDIDATE_MODEL} {candidate:.4f} does not beat {BASELINE_MODEL} {baseline:.4f} "
            f"by {margin}"
        )
    value = run_scores[champion]
    scores = dict(run_scores)
    if refused is not None:
        promoted = False
        reason = f"not promoted: {champion} ({why}): {refused}"
    elif current is None and unjudged is not None:
        promoted = False
        reason = (
            f"not promoted: {champion} ({why}): the promoted model {unjudged} could not be "
            "compared on flights it has not seen, and stays (notes)"
        )
    elif current is None:
        promoted = True
        # Notes say why a promoted model was left out of the comparison.
        nothing = (
            "no promoted model could be compared (notes)" if notes else "nothing was promoted yet"
        )
        reason = f"promoted {champion} ({why}): {nothing}"
    else:
        name, reference = current
        scores[name] = reference
        on = ""
        if compared is not None:
            rows, subset = compared
            value = subset[champion]
            scores[f"{champion} on {rows}"] = value
            on = f" on {rows}"
        promoted = beats(metric, value, reference, margin)
        verdict = "beats" if promoted else "does not beat"
        reason = (
            f"{'promoted' if promoted else 'not promoted'}: {champion} ({why}) {metric} "
            f"{value:.4f} {verdict} {name} {reference:.4f} by {margin}{on}"
        )
    return Decision(promoted, champion, metric, margin, scores, reason, notes or [])


@dataclass(frozen=True)
class Provenance:
    git_commit: str
    git_dirty: bool
    features_dvc_hash: str
    features_window_days: int | None
    params: dict[str, Any]
    # The features' split boundaries (provenance.features_split), None where none is recorded.
    features_split: dict[str, str] | None = None
    # The features' weather lead in hours (provenance.features_weather_lead_hours), or None.
    features_weather_lead_hours: int | None = None


def feature_schema(directory: Path) -> list[tuple[str, str]]:
    """The (name, kind) of each feature a saved predictor reads, from its manifest alone."""
    try:
        return [(f["name"], f["kind"]) for f in read_manifest(directory)["features"]]
    except (KeyError, TypeError) as error:
        raise PredictorError(f"{directory}: malformed feature list ({error!r})") from None


def _describe(schema: list[tuple[str, str]]) -> str:
    return f"{len(schema)} features: {', '.join(name for name, _ in schema)}"


def _validation_end(model: Model) -> dt.date | None:
    """The last date of the validation split `model` was trained with, as its registration
    recorded it, or None when it recorded none (registered before the record existed)."""
    split = dict(model.info.metadata).get(METADATA_FEATURES_SPLIT)
    end = split.get("validation_end") if isinstance(split, dict) else None
    if not isinstance(end, str):
        return None
    try:
        return dt.date.fromisoformat(end)
    except ValueError:
        return None


def _unseen_rows(model: Model, evaluation: Evaluation, notes: list[str]) -> np.ndarray | None:
    """The test rows that depart after `model`'s validation split ended, the only ones it has
    not seen, as a boolean mask; None, with a note why, when there are none to compare it on
    (it then stays)."""
    end = _validation_end(model)
    # A champion from older flights than the promoted model saw must not replace it unjudged.
    left_out = (
        f"it stays and nothing is promoted (to replace it, test on flights after {end}, or roll "
        "it back with `train rollback`)"
    )
    if end is None:
        # Registered before registrations recorded their split: left out, every deployment's
        # promoted model would be replaced unjudged by the first run after an upgrade.
        notes.append(
            f"the promoted model {model.tag} records no split of its features "
            f"({METADATA_FEATURES_SPLIT}): it is compared on the whole test split, as before "
            "the split was recorded, though it may have been trained or validated on some of it"
        )
        whole: np.ndarray = np.ones(len(evaluation.test[1]), dtype=bool)
        return whole
    if evaluation.test_dates is None:
        notes.append(
            f"this run's test split records no departure times: which of its flights the "
            f"promoted model {model.tag} (validated up to {end}) saw cannot be told, so {left_out}"
        )
        return None
    rows: np.ndarray = evaluation.test_dates > end
    label = evaluation.test[1][rows]
    if not rows.any():
        notes.append(
            f"the promoted model {model.tag} was trained and validated on flights up to {end}, "
            f"this run's test flights end {max(evaluation.test_dates)}: none is unseen by it, so "
            f"{left_out}"
        )
        return None
    if len(np.unique(label)) < 2:
        notes.append(
            f"the {int(rows.sum())} test flights after {end}, the end of the promoted model "
            f"{model.tag}'s validation split, are all of one class: it cannot be scored on "
            f"them, so {left_out}"
        )
        return None
    return rows


def _lead_refusal(weather_lead_hours: int | None) -> str | None:
    """Why no model trained on features of this weather lead may be promoted, or None: serving
    gives each flight the weather WEATHER_LEAD_HOURS before, and a model of another lead (or of
    none recorded, which may be any) would be given other weather features than it learnt."""
    if weather_lead_hours == WEATHER_LEAD_HOURS:
        return None
    if weather_lead_hours is None:
        which = (
            f"this run's features record no weather lead (no {WEATHER_LEAD_HOURS_KEY!r} in their "
            "stats.json): which hour's weather its models were trained on is unknown"
        )
    else:
        which = f"this run's features have the weather {weather_lead_hours} hours before departure"
    return (
        f"{which}, and serving gives each flight the weather {WEATHER_LEAD_HOURS} hours before "
        "(ADR 0019); train on a feature directory this code built, whose stats.json records "
        "its lead (dvc repro features; on SageMaker, the `features` channel)"
    )


def _cannot_compare(current: Model, error: Exception) -> RegistrationError:
    return RegistrationError(
        f"the promoted model {current.tag} cannot be compared with this run "
        f"({type(error).__name__}: {error}); nothing was registered or promoted. "
        "Repair it, or roll it back (`train rollback`) and run again"
    )


def gate(
    evaluation: Evaluation,
    store: ModelStore,
    params: PromoteParams,
    weather_lead_hours: int | None = None,
) -> Decision:
    """The run's champion, and whether it is promoted. `weather_lead_hours`: the lead of this
    run's features (None: unrecorded). Only a run of this code's lead (WEATHER_LEAD_HOURS) is
    promoted, and only a promoted model of that lead is scored on its features: one of another
    lead, or of none, is replaced."""
    metrics = evaluation.metrics
    if CANDIDATE_MODEL not in metrics or BASELINE_MODEL not in metrics:
        raise RegistrationError(
            f"registration needs both the {BASELINE_MODEL} and the {CANDIDATE_MODEL} model; "
            f"found {', '.join(metrics)} (fit both, or evaluate with --no-register)"
        )
    run_scores = {name: metrics[name][params.metric] for name in (CANDIDATE_MODEL, BASELINE_MODEL)}
    refused = _lead_refusal(weather_lead_hours)
    if refused is not None:
        return decide(params.metric, params.margin, run_scores, None, refused=refused)
    notes: list[str] = []
    reference = None
    compared = None
    unjudged = None
    current = promoted_model(store)
    if current is not None:
        try:
            # Its manifest is read for the schema below: a changed file is not another schema.
            verify_registered(current)
        except Exception as error:
            raise _cannot_compare(current, error) from error
        schema = feature_schema(Path(current.path))
        expected = [(f.name, str(f.kind)) for f in evaluation.predictors[CANDIDATE_MODEL].features]
        current_lead = trained_weather_lead(current)
        if schema != expected:
            notes.append(
                f"the promoted model {current.tag} reads other features ({_describe(schema)}) "
                f"than this run ({_describe(expected)}): it cannot score this split, and the "
                "run's champion replaces it"
            )
        elif current_lead is None:
            notes.append(
                f"the promoted model {current.tag} records no weather lead "
                f"({METADATA_FEATURES_WEATHER_LEAD_HOURS}) nor trailing window: which hour's "
                "weather it was trained on is unknown (registered before either was recorded, it "
                "was the departure hour's), and a model without a lead is no longer promoted; "
                f"the run's champion, of this code's lead ({WEATHER_LEAD_HOURS} hours), replaces "
                "it without a comparison"
            )
        elif current_lead != weather_lead_hours:
            # Its weather features are another hour's than this split's (ADR 0019).
            notes.append(
                f"the promoted model {current.tag} was trained on the weather {current_lead} "
                f"hours before departure, this run's features have it {weather_lead_hours} "
                "hours before: it cannot score this split, and the run's champion replaces it"
            )
        elif (rows := _unseen_rows(current, evaluation, notes)) is None:
            unjudged = str(current.tag)
        else:
            frame, label = evaluation.test[0][rows], evaluation.test[1][rows]
            try:
                predictor = load_registered(current)
                probability = predictor.predict_proba(frame)
                value = score(label, probability, predictor.threshold)[params.metric]
            except Exception as error:
                raise _cannot_compare(current, error) from error
            reference = (f"promoted {current.tag}", value)
            if not rows.all():
                # The champion is compared on the same flights as the promoted model.
                where = (
                    f"the {len(label)} test flights after {_validation_end(current)} "
                    "(unseen by the promoted model)"
                )
                subset = {}
                for name in (CANDIDATE_MODEL, BASELINE_MODEL):
                    mine = evaluation.predictors[name]
                    subset[name] = score(label, mine.predict_proba(frame), mine.threshold)[
                        params.metric
                    ]
                compared = (where, subset)
    return decide(params.metric, params.margin, run_scores, reference, notes, compared, unjudged)


def register_run(
    evaluation: Evaluation,
    models_dir: Path,
    store: ModelStore,
    params: PromoteParams,
    provenance: Provenance,
) -> dict[str, Any]:
    """Register the baseline and the candidate, the gate's champion promoted if it passes.
    If either save fails, the other is removed: a run registers both or nothing. The store's
    lock is held from the gate's read of the promoted model to the last registration, so two
    runs never both promote against the same reference."""
    with registry_lock(store):
        decision = gate(evaluation, store, params, provenance.features_weather_lead_hours)
        saved = []
        try:
            for name, role in ((BASELINE_MODEL, BASELINE), (CANDIDATE_MODEL, CANDIDATE)):
                promoted = decision.promoted and name == decision.champion
                labels = {
                    ROLE: role,
                    KIND: evaluation.predictors[name].kind,
                    STAGE: PROMOTED if promoted else REGISTERED,
                }
                metadata = {
                    METADATA_GIT_COMMIT: provenance.git_commit,
                    METADATA_GIT_DIRTY: provenance.git_dirty,
                    METADATA_FEATURES_DVC_HASH: provenance.features_dvc_hash,
                    METADATA_PARAMS: provenance.params,
                    METADATA_METRICS: evaluation.metrics[name],
                    METADATA_PROMOTION: asdict(decision),
                }
                # BentoML's metadata takes no None: an unknown window or split is no entry.
                if provenance.features_window_days is not None:
                    metadata[METADATA_FEATURES_WINDOW_DAYS] = provenance.features_window_days
                if provenance.features_split is not None:
                    metadata[METADATA_FEATURES_SPLIT] = provenance.features_split
                if provenance.features_weather_lead_hours is not None:
                    lead = provenance.features_weather_lead_hours
                    metadata[METADATA_FEATURES_WEATHER_LEAD_HOURS] = lead
                saved.append(register(store, models_dir / name, labels, metadata))
        except BaseException as error:
            for tag in saved:
                delete(store, tag)
            if isinstance(error, OSError):  # a store this user cannot write, a full disk
                raise RegistrationError(
                    f"cannot register the models in the store at {store.home}: {error}; nothing "
                    "was registered"
                ) from error
            raise
        by_name = {BASELINE_MODEL: str(saved[0]), CANDIDATE_MODEL: str(saved[1])}
        return {
            "baseline": by_name[BASELINE_MODEL],
            "candidate": by_name[CANDIDATE_MODEL],
            "promoted": by_name[decision.champion] if decision.promoted else None,
            "decision": asdict(decision),
        }
