"""Fits the PyTorch wide-and-deep network, in one process or data-parallel under
torch.distributed.

Each epoch shuffles the train split with a generator seeded from the seed and the epoch, the
same on every process, and cuts it into global batches of `batch_size` rows; process r of N
trains on rows r, r + N, ... of each global batch, and DDP averages the gradients. A batch
therefore means the same rows whether one process or N run it, and N processes follow the
single process's path up to floating-point rounding and dropout masks. After every epoch each
process scores the whole validation split (the weights are identical everywhere), in chunks of
CHUNK_ROWS rows as the predictor scores, and the best epoch's weights are kept; the run stops
after `patience` epochs without improvement.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from feature_definitions.features import FEATURES, Feature
from model_registry.encoding import TabularEncoding
from model_registry.network import NetworkConfig, WideDeepNet, embedding_dim
from model_registry.predictor import model_frame
from model_registry.torch_predictor import CHUNK_ROWS
from train.distributed import World
from train.errors import TrainError
from train.params import TorchParams
from train.progress import Progress


@dataclass(frozen=True)
class NetworkFit:
    encoding: TabularEncoding
    network: WideDeepNet
    best_epoch: int
    epochs_run: int
    # Per epoch: epoch (1-based), train_loss (this process's shard), validation_loss, seconds.
    history: list[dict[str, Any]] = field(default_factory=list)


def _tensors(
    encoding: TabularEncoding,
    split: tuple[pd.DataFrame, np.ndarray],
    features: tuple[Feature, ...],
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    codes, numbers = encoding.transform(model_frame(split[0], features))
    label = torch.from_numpy(split[1].astype("float32"))
    return (
        torch.from_numpy(codes).to(device),
        torch.from_numpy(numbers).to(device),
        label.to(device),
    )


class TrainingDiverged(TrainError):
    """The validation loss is not a number: the parameters make training diverge."""


# What torch's CPU allocator says when an allocation fails (a plain RuntimeError).
_CPU_OUT_OF_MEMORY = "can't allocate memory"


class NetworkTooLarge(TrainError):
    """The device's memory cannot hold the network, its optimiser state or its activations."""


@contextmanager
def naming_memory_failures(
    params: TorchParams, device: torch.device, rows: Mapping[str, int] | None = None
) -> Iterator[None]:
    """Turns the device's failure to allocate into NetworkTooLarge, which names the parameters
    that size the network and the rows of each split (`rows`, by split name) the device holds."""
    try:
        yield
    except RuntimeError as error:
        if not _out_of_memory(error):
            raise
        splits = "".join(f", {count:,} {split} rows" for split, count in (rows or {}).items())
        raise NetworkTooLarge(
            f"train.torch: the network does not fit in the memory of {device} "
            f"(hidden {list(params.hidden)}, batch_size {params.batch_size}{splits}): "
            f"{_allocator_message(error)}; lower train.torch.hidden"
            + (", or train on fewer rows" if rows else "")
        ) from None


def _out_of_memory(error: RuntimeError) -> bool:
    # CUDA raises torch.OutOfMemoryError.
    return isinstance(error, torch.OutOfMemoryError) or _CPU_OUT_OF_MEMORY in str(error)


def _allocator_message(error: RuntimeError) -> str:
    """The allocator's own words, without the C++ source location torch puts before them."""
    text = str(error).splitlines()[0]
    return text[text.find(_CPU_OUT_OF_MEMORY) :] if _CPU_OUT_OF_MEMORY in text else text


def fit_network(
    train: tuple[pd.DataFrame, np.ndarray],
    validation: tuple[pd.DataFrame, np.ndarray],
    params: TorchParams,
    seed: int,
    world: World,
    progress: Progress,
    features: tuple[Feature, ...] = FEATURES,
) -> NetworkFit:
    torch.manual_seed(seed)
    categorical = [f.name for f in features if f.kind == "categorical"]
    numeric = [f.name for f in features if f.kind == "numeric"]
    encoding = TabularEncoding.fit(model_frame(train[0], features), categorical, numeric)
    config = NetworkConfig(
        cardinalities=encoding.cardinalities,
        embedding_dims=tuple(
            embedding_dim(n, params.embedding_dim) for n in encoding.cardinalities
        ),
        numeric=len(numeric),
        hidden=params.hidden,
        dropout=params.dropout,
    )
    network = WideDeepNet(config).to(world.device)
    trained: nn.Module = network
    if world.distributed:
        ids = [world.device.index] if world.device.type == "cuda" else None
        trained = DistributedDataParallel(network, device_ids=ids)
    codes, numbers, label = _tensors(encoding, train, features, world.device)
    val_codes, val_numbers, val_label = _tensors(encoding, validation, features, world.device)

    rows = len(label)
    steps = math.ceil(rows / params.batch_size)
    # Fused: the unfused step takes `Tensor.sqrt`, whose float32 CPU kernel is not correctly
    # rounded and gives other bytes on other CPU models (ADR 0010); the fused kernel's do not.
    optimizer = torch.optim.AdamW(
        network.parameters(),
        lr=params.learning_rate,
        weight_decay=params.weight_decay,
        fused=True,
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=params.learning_rate, total_steps=params.epochs * steps
    )
    loss_fn = nn.BCEWithLogitsLoss()
    best_loss, best_epoch, best_state = math.inf, 0, copy.deepcopy(network.state_dict())
    history: list[dict[str, Any]] = []
    epochs = progress.iterate(range(1, params.epochs + 1), params.epochs, "epochs", leave=True)
    for epoch in epochs:
        started = time.perf_counter()
        order = torch.randperm(
            rows, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        )
        trained.train()
        total, seen = 0.0, 0
        batches = progress.iterate(range(steps), steps, f"epoch {epoch}", leave=False)
        for step in batches:
            batch = order[step * params.batch_size : (step + 1) * params.batch_size]
            if len(batch) < world.size:
                # Too few rows left to give every process one; all processes skip it alike.
                schedule.step()
                continue
            mine = batch[world.rank :: world.size].to(world.device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(trained(codes[mine], numbers[mine]), label[mine])
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(mine)
            seen += len(mine)
        validation_loss = _loss(network, val_codes, val_numbers, val_label, loss_fn)
        if not math.isfinite(validation_loss):
            # Every later epoch would be no better, and the best state the random start.
            raise TrainingDiverged(
                f"train.torch: the validation loss is {validation_loss} after epoch {epoch}: "
                f"the network diverged; lower train.torch.learning_rate "
                f"({params.learning_rate:g})"
            )
        # No wall-clock time in the history: it is a DVC-cached output and must repeat exactly.
        history.append(
            {"epoch": epoch, "train_loss": total / max(seen, 1), "validation_loss": validation_loss}
        )
        progress.line(
            f"torch: epoch {epoch}/{params.epochs}: train loss {history[-1]['train_loss']:.4f}, "
            f"validation loss {validation_loss:.4f} ({time.perf_counter() - started:.1f} s)"
        )
        if validation_loss < best_loss:
            best_loss, best_epoch = validation_loss, epoch
            best_state = copy.deepcopy(network.state_dict())
        if _stop(epoch - best_epoch >= params.patience, world):
            progress.line(f"torch: no better validation loss for {params.patience} epochs; stop")
            break
    network.load_state_dict(best_state)
    network.eval()
    return NetworkFit(encoding, network.cpu(), best_epoch, len(history), history)


def _loss(
    network: nn.Module,
    codes: torch.Tensor,
    numbers: torch.Tensor,
    label: torch.Tensor,
    loss_fn: nn.Module,
) -> float:
    """The mean loss over the split, scored CHUNK_ROWS rows at a time as TorchPredictor scores
    (one forward pass of a million rows holds gigabytes of activations): the chunks' means
    weighted by their rows, which for a split of one chunk is its mean exactly."""
    network.eval()
    rows = len(label)
    total = 0.0
    with torch.inference_mode():
        for start in range(0, rows, CHUNK_ROWS):
            end = min(start + CHUNK_ROWS, rows)
            chunk = float(loss_fn(network(codes[start:end], numbers[start:end]), label[start:end]))
            if end - start == rows:
                return chunk
            total += chunk * (end - start)
    return total / rows


def _stop(local: bool, world: World) -> bool:
    """Every process stops together; process 0's decision (they all agree anyway) wins."""
    if not world.distributed:
        return local
    decision = torch.tensor([1.0 if local else 0.0], device=world.device)
    dist.broadcast(decision, src=0)
    return bool(decision.item())
