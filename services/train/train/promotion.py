"""Registration in the BentoML store and the promotion gate.

Both models of a run are registered, with their predictors' files and metadata (git commit,
DVC hash of the features, params, test metrics). The PyTorch model is the candidate; it is
labelled `stage=promoted`, and so becomes the model serving loads, only if its test metric
beats every reference by the margin: the run's baseline, and the currently promoted model
re-scored on this run's test split (a model scored on another period is not comparable). A
promoted model that cannot score this test split (its features no longer exist) is left out of
the comparison, and the decision says so. A candidate that fails is kept, labelled
`stage=registered`, and the decision says why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model_registry.predictor import load_predictor
from model_registry.store import (
    BASELINE,
    CANDIDATE,
    KIND,
    METADATA_FEATURES_DVC_HASH,
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
    promoted_model,
    register,
)
from train.evaluate import Evaluation
from train.metrics import beats, score
from train.params import PromoteParams

CANDIDATE_MODEL = "torch"
BASELINE_MODEL = "baseline"


class RegistrationError(ValueError):
    """The run's models cannot be registered as a pair; the message says why."""


@dataclass(frozen=True)
class Decision:
    promoted: bool
    metric: str
    margin: float
    candidate: float
    # What the candidate was compared with: name -> its value of the metric on this test split.
    references: dict[str, float]
    reason: str
    notes: list[str] = field(default_factory=list)


def decide(
    metric: str,
    margin: float,
    candidate: float,
    references: dict[str, float],
    notes: list[str] | None = None,
) -> Decision:
    failed = {n: v for n, v in references.items() if not beats(metric, candidate, v, margin)}
    compared = ", ".join(f"{name} {value:.4f}" for name, value in references.items())
    if failed:
        reason = (
            f"not promoted: {metric} {candidate:.4f} does not beat "
            + ", ".join(f"{name} {value:.4f}" for name, value in failed.items())
            + f" by the margin {margin}"
        )
    else:
        reason = f"promoted: {metric} {candidate:.4f} beats {compared} by at least {margin}"
    return Decision(not failed, metric, margin, candidate, references, reason, notes or [])


@dataclass(frozen=True)
class Provenance:
    git_commit: str
    git_dirty: bool
    features_dvc_hash: str
    params: dict[str, Any]


def gate(evaluation: Evaluation, store: ModelStore, params: PromoteParams) -> Decision:
    metrics = evaluation.metrics
    if CANDIDATE_MODEL not in metrics or BASELINE_MODEL not in metrics:
        raise RegistrationError(
            f"registration needs both the {BASELINE_MODEL} and the {CANDIDATE_MODEL} model; "
            f"found {', '.join(metrics)} (fit both, or evaluate with --no-register)"
        )
    references = {BASELINE_MODEL: metrics[BASELINE_MODEL][params.metric]}
    notes = []
    current = promoted_model(store)
    if current is not None:
        try:
            predictor = load_predictor(Path(current.path))
            probability = predictor.predict_proba(evaluation.test[0])
            value = score(evaluation.test[1], probability, predictor.threshold)[params.metric]
            references[f"promoted {current.tag}"] = value
        # Whatever stops it (features gone, a network or library that changed shape), a model
        # that cannot score this split cannot be compared, nor serve these features.
        except Exception as error:
            notes.append(
                f"the promoted model {current.tag} cannot score this test split ({error}); "
                "compared with the baseline only"
            )
    return decide(
        params.metric, params.margin, metrics[CANDIDATE_MODEL][params.metric], references, notes
    )


def register_run(
    evaluation: Evaluation,
    models_dir: Path,
    store: ModelStore,
    params: PromoteParams,
    provenance: Provenance,
) -> dict[str, Any]:
    """Register the baseline and the candidate, the candidate promoted if it passes the gate.
    If either save fails, the other is removed: a run registers both or nothing."""
    decision = gate(evaluation, store, params)
    saved = []
    try:
        for name, role in ((BASELINE_MODEL, BASELINE), (CANDIDATE_MODEL, CANDIDATE)):
            promoted = role == CANDIDATE and decision.promoted
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
                METADATA_PROMOTION: asdict(decision) if role == CANDIDATE else {},
            }
            saved.append(register(store, models_dir / name, labels, metadata))
    except BaseException:
        for tag in saved:
            store.delete(tag)
        raise
    return {
        "baseline": str(saved[0]),
        "candidate": str(saved[1]),
        "promoted": decision.promoted,
        "decision": asdict(decision),
    }
