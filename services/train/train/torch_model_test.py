import pytest
import torch
from sklearn.metrics import log_loss, roc_auc_score

from feature_definitions.features import FEATURES
from model_registry.torch_predictor import TorchPredictor
from train.conftest import quick_params, synthetic_xy
from train.distributed import join_world
from train.fit import configure_torch
from train.params import TorchParams
from train.progress import Progress
from train.torch_model import TrainingDiverged, _loss, _tensors, fit_network

TRAIN, VALIDATION = synthetic_xy(3000, 0), synthetic_xy(1000, 1)
PARAMS = quick_params().train.torch


def fit(params: TorchParams = PARAMS, seed: int = 0) -> TorchPredictor:
    world = join_world({})
    configure_torch(1, world)
    fitted = fit_network(TRAIN, VALIDATION, params, seed, world, Progress("lines"))
    return TorchPredictor(fitted.encoding, fitted.network, FEATURES, threshold=0.5)


def test_the_network_learns_better_than_chance() -> None:
    probability = fit().predict_proba(VALIDATION[0])
    assert roc_auc_score(VALIDATION[1], probability) > 0.75


def test_the_same_inputs_and_seed_give_identical_weights_on_cpu() -> None:
    first, second = fit(seed=5), fit(seed=5)
    for (name, a), (_, b) in zip(
        first.network.state_dict().items(), second.network.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_a_different_seed_gives_a_different_network() -> None:
    assert not torch.equal(
        fit(seed=1).network.wide_numeric.weight, fit(seed=2).network.wide_numeric.weight
    )


def expected_stop(losses: list[float], patience: int) -> int:
    best, best_epoch = float("inf"), 0
    for epoch, loss in enumerate(losses, start=1):
        if loss < best:
            best, best_epoch = loss, epoch
        if epoch - best_epoch >= patience:
            return epoch
    return len(losses)


def test_keeps_the_best_epoch_and_stops_after_patience() -> None:
    # A learning rate this high makes the validation loss jump around.
    params = PARAMS.model_copy(
        update={"epochs": 10, "batch_size": 256, "learning_rate": 3.0, "patience": 1}
    )
    fitted = fit_network(TRAIN, VALIDATION, params, 0, join_world({}), Progress("lines"))
    losses = [epoch["validation_loss"] for epoch in fitted.history]
    assert fitted.best_epoch == 1 + losses.index(min(losses))
    assert fitted.epochs_run == expected_stop(losses, params.patience) < params.epochs
    # The network returned is the best epoch's, not the last one's.
    kept = TorchPredictor(fitted.encoding, fitted.network, FEATURES, threshold=0.5)
    kept_loss = log_loss(VALIDATION[1], kept.predict_proba(VALIDATION[0]))
    assert kept_loss == pytest.approx(min(losses), rel=1e-4)
    assert kept_loss != pytest.approx(losses[-1], rel=1e-4)


def test_a_diverging_network_is_an_error_naming_the_learning_rate() -> None:
    params = PARAMS.model_copy(update={"epochs": 3, "learning_rate": 1e300})
    with pytest.raises(TrainingDiverged, match=r"lower train.torch.learning_rate \(1e\+300\)"):
        fit_network(TRAIN, VALIDATION, params, 0, join_world({}), Progress("lines"))


def test_the_validation_loss_is_scored_in_chunks_to_the_same_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A forward pass of the whole validation split held gigabytes per million rows; scored
    CHUNK_ROWS rows at a time, as the predictor scores, its row-weighted mean is the same."""
    fitted = fit_network(TRAIN, VALIDATION, PARAMS, 0, join_world({}), Progress("lines"))
    codes, numbers, label = _tensors(fitted.encoding, VALIDATION, FEATURES, torch.device("cpu"))
    network, loss_fn = fitted.network, torch.nn.BCEWithLogitsLoss()
    whole = _loss(network, codes, numbers, label, loss_fn)  # 1,000 rows: one chunk
    with torch.inference_mode():
        assert whole == float(loss_fn(network(codes, numbers), label))

    passes: list[int] = []
    forward = network.forward

    def counted(codes: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        passes.append(len(codes))
        return forward(codes, numbers)

    monkeypatch.setattr(network, "forward", counted)
    monkeypatch.setattr("train.torch_model.CHUNK_ROWS", 300)
    assert _loss(network, codes, numbers, label, loss_fn) == pytest.approx(whole, rel=1e-6)
    assert passes == [300, 300, 300, 100]
