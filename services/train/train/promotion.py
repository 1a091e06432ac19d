"""Registration in the BentoML store and the promotion gate.

Both models of a run are registered, with their predictors' files and metadata (git commit,
DVC hash of the features, params, test metrics). The gate then picks at most one of them to
label `stage=promoted`, the label serving loads:

1. The run's champion is the PyTorch model if its test metric beats the baseline's by the
   margin, else the baseline: the more complex model has to earn its cost.
2. If a model is promoted already, it is re-scored on this run's test split (a model scored on
   another period is not comparable), and the champion replaces it only if it beats it by the
   margin. The one documented exception: a promoted model with a different feature schema (its
   features are not the run's) cannot score this split nor serve these features, so it is left
   out and the decision says so. Anything else that stops the comparison (a file that fails
   verification, a model that cannot load or score) stops the gate: nothing is registered or
   promoted, and the error says why. A rolled-back model is never the one compared against.
3. If nothing is promoted yet, the champion is (the first promotion), so a fresh clone's pipeline
   always ends with a model to serve. docs/adr/0008-first-promotion.md explains why.

A model that is not promoted is kept, labelled `stage=registered`, and the decision says why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model_registry.errors import PredictorError
from model_registry.predictor import read_manifest
from model_registry.store import (
    BASELINE,
    CANDIDATE,
    KIND,
    METADATA_FEATURES_DVC_HASH,
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
    ModelStore,
    delete,
    load_registered,
    promoted_model,
    register,
    registry_lock,
)
from train.errors import TrainError
from train.evaluate import Evaluation
from train.metrics import beats, score
from train.params import PromoteParams

CANDIDATE_MODEL = "torch"
BASELINE_MODEL = "baseline"


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
) -> Decision:
    """The gate's rule on scores alone. `run_scores` holds the run's candidate and baseline,
    `current` the promoted model's name and score, or None when nothing is promoted."""
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
    if current is None:
        promoted = True
        reason = f"promoted {champion} ({why}): nothing was promoted yet"
    else:
        name, reference = current
        scores[name] = reference
        promoted = beats(metric, value, reference, margin)
        verdict = "beats" if promoted else "does not beat"
        reason = (
            f"{'promoted' if promoted else 'not promoted'}: {champion} ({why}) {metric} "
            f"{value:.4f} {verdict} {name} {reference:.4f} by {margin}"
        )
    return Decision(promoted, champion, metric, margin, scores, reason, notes or [])


@dataclass(frozen=True)
class Provenance:
    git_commit: str
    git_dirty: bool
    features_dvc_hash: str
    features_window_days: int | None
    params: dict[str, Any]


def feature_schema(directory: Path) -> list[tuple[str, str]]:
    """The (name, kind) of each feature a saved predictor reads, from its manifest alone."""
    try:
        return [(f["name"], f["kind"]) for f in read_manifest(directory)["features"]]
    except (KeyError, TypeError) as error:
        raise PredictorError(f"{directory}: malformed feature list ({error!r})") from None


def _describe(schema: list[tuple[str, str]]) -> str:
    return f"{len(schema)} features: {', '.join(name for name, _ in schema)}"


def gate(evaluation: Evaluation, store: ModelStore, params: PromoteParams) -> Decision:
    metrics = evaluation.metrics
    if CANDIDATE_MODEL not in metrics or BASELINE_MODEL not in metrics:
        raise RegistrationError(
            f"registration needs both the {BASELINE_MODEL} and the {CANDIDATE_MODEL} model; "
            f"found {', '.join(metrics)} (fit both, or evaluate with --no-register)"
        )
    run_scores = {name: metrics[name][params.metric] for name in (CANDIDATE_MODEL, BASELINE_MODEL)}
    notes = []
    reference = None
    current = promoted_model(store)
    if current is not None:
        schema = feature_schema(Path(current.path))
        expected = [(f.name, str(f.kind)) for f in evaluation.predictors[CANDIDATE_MODEL].features]
        if schema != expected:
            notes.append(
                f"the promoted model {current.tag} reads other features ({_describe(schema)}) "
                f"than this run ({_describe(expected)}): it cannot score this split, and the "
                "run's champion replaces it"
            )
        else:
            try:
                predictor = load_registered(current)
                probability = predictor.predict_proba(evaluation.test[0])
                value = score(evaluation.test[1], probability, predictor.threshold)[params.metric]
            except Exception as error:
                raise RegistrationError(
                    f"the promoted model {current.tag} cannot be compared with this run "
                    f"({type(error).__name__}: {error}); nothing was registered or promoted. "
                    "Repair it, or roll it back (`train rollback`) and run again"
                ) from error
            reference = (f"promoted {current.tag}", value)
    return decide(params.metric, params.margin, run_scores, reference, notes)


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
        decision = gate(evaluation, store, params)
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
                # BentoML's metadata takes no None: an unknown window is no entry.
                if provenance.features_window_days is not None:
                    metadata[METADATA_FEATURES_WINDOW_DAYS] = provenance.features_window_days
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
