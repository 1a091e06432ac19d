import torch

from train.device import select_device


def test_uses_a_gpu_exactly_when_one_is_present() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device().type == expected


def test_selected_device_computes() -> None:
    ones = torch.ones(3, device=select_device())
    assert ones.sum().item() == 3.0
