import pytest
import torch

from train.device import select_device


def test_uses_a_gpu_exactly_when_one_is_present(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    assert select_device() == expected
    # As on a node with two GPUs (torch.device names a GPU without one being present): each
    # local rank gets one, round the node's GPUs.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert [select_device(rank) for rank in range(3)] == [
        torch.device("cuda", 0),
        torch.device("cuda", 1),
        torch.device("cuda", 0),
    ]


def test_selected_device_computes() -> None:
    ones = torch.ones(3, device=select_device())
    assert ones.sum().item() == 3.0
