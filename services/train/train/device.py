"""Where PyTorch computes: a GPU when one is present, the CPU otherwise."""

from __future__ import annotations

import torch


def select_device(local_rank: int = 0) -> torch.device:
    """The GPU of this process (`local_rank` under torch.distributed), or the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")
