import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from feature_definitions.features import FEATURES
from model_registry.predictor import SklearnPredictor
from train.baseline import check_baseline_params, fit_baseline
from train.conftest import quick_params, synthetic_xy
from train.data import TrainingDataError
from train.params import BaselineModel, BaselineParams

TRAIN, VALIDATION = synthetic_xy(3000, 0), synthetic_xy(1000, 1)


def baseline(**changes: object) -> BaselineParams:
    return quick_params().train.baseline.model_copy(update=changes)


@pytest.mark.parametrize("model", ["hist_gradient_boosting", "logistic_regression"])
def test_the_baseline_learns_better_than_chance(model: BaselineModel) -> None:
    fitted = fit_baseline(TRAIN, VALIDATION, baseline(model=model), seed=0)
    probability = fitted.pipeline.predict_proba(VALIDATION[0])[:, 1]
    assert roc_auc_score(VALIDATION[1], probability) > 0.75
    assert fitted.iterations > 0


def test_the_same_data_and_seed_give_the_same_probabilities() -> None:
    params = baseline(max_iter=60)
    first = fit_baseline(TRAIN, VALIDATION, params, seed=3).pipeline
    second = fit_baseline(TRAIN, VALIDATION, params, seed=3).pipeline
    frame = VALIDATION[0]
    assert np.array_equal(first.predict_proba(frame), second.predict_proba(frame))


def test_boosting_stops_early_on_the_validation_split() -> None:
    fitted = fit_baseline(TRAIN, VALIDATION, baseline(n_iter_no_change=5, max_iter=500), seed=0)
    assert fitted.iterations < 500
    # What it stopped on is the validation split's loss, not that of a slice of the train split
    # scikit-learn would hold out by itself.
    scored = fitted.pipeline.predict_proba(VALIDATION[0])[:, 1]
    last_score = fitted.pipeline["model"].validation_score_[-1]
    assert last_score == pytest.approx(-log_loss(VALIDATION[1], scored), rel=1e-6)


def test_an_unseen_category_is_scored() -> None:
    fitted = fit_baseline(TRAIN, VALIDATION, baseline(max_iter=30), seed=0)
    predictor = SklearnPredictor(fitted.pipeline, FEATURES, threshold=0.5)
    unseen = VALIDATION[0].head(3).assign(carrier="ZZ", dest="XXX")
    assert np.isfinite(predictor.predict_proba(unseen)).all()


@pytest.mark.parametrize("model", ["hist_gradient_boosting", "logistic_regression"])
def test_the_extremes_the_params_accept_fit(model: BaselineModel) -> None:
    params = quick_params(
        **{
            "train.seed": 2**32 - 1,
            "train.baseline.max_leaf_nodes": 2,
            "train.baseline.model": model,
        }
    )
    fitted = fit_baseline(TRAIN, VALIDATION, params.train.baseline, params.train.seed)
    assert fitted.iterations > 0


def test_a_min_samples_leaf_no_tree_can_split_on_is_refused() -> None:
    rows = len(TRAIN[1])
    check_baseline_params(baseline(min_samples_leaf=rows // 2), rows)
    too_many = baseline(min_samples_leaf=rows // 2 + 1)
    with pytest.raises(TrainingDataError, match=f"min_samples_leaf {rows // 2 + 1} is more than"):
        check_baseline_params(too_many, rows)
    # Why: fitted anyway, every tree is a single leaf and every flight gets the same score.
    fitted = fit_baseline(TRAIN, VALIDATION, too_many.model_copy(update={"max_iter": 5}), 0)
    assert len(np.unique(fitted.pipeline.predict_proba(VALIDATION[0])[:, 1])) == 1
    # The logistic regression has no leaves.
    check_baseline_params(too_many.model_copy(update={"model": "logistic_regression"}), rows)
