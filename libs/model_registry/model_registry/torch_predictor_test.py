from pathlib import Path

import pytest
import torch

from model_registry import torch_predictor as torch_predictor_module
from model_registry.predictor import load_predictor
from model_registry.testing import torch_predictor
from model_registry.torch_predictor import TorchPredictor, scoring_device


def weights_device(predictor: object) -> torch.device:
    assert isinstance(predictor, TorchPredictor)
    return next(predictor.network.parameters()).device


def test_the_scoring_device_is_the_first_gpu_exactly_when_torch_sees_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    assert scoring_device() == expected
    # As on a GPU machine (torch.device names a GPU without one being present).
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert scoring_device() == torch.device("cuda", 0)


def test_a_loaded_network_goes_to_the_scoring_device_unless_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch_predictor().save(tmp_path / "model")
    assert weights_device(load_predictor(tmp_path / "model")) == scoring_device()
    # A device that holds no data stands in for a GPU this machine may not have.
    monkeypatch.setattr(torch_predictor_module, "scoring_device", lambda: torch.device("meta"))
    assert weights_device(load_predictor(tmp_path / "model")) == torch.device("meta")
    given = load_predictor(tmp_path / "model", torch.device("cpu"))
    assert weights_device(given) == torch.device("cpu")
