"""One training run: fit the baseline and the PyTorch model on the train split, choose each
one's decision threshold on the validation split, and write both predictors with a training
report into the output directory, atomically (a failed run leaves the previous output as it
was and writes no partial model).

Output: `<output>/baseline/` and `<output>/torch/` (model_registry predictors),
`training.json` (the params used, rows, device, world size, and per model its iterations and
threshold) and `torch_history.json` (the loss per epoch, for the learning-curve plot). Both are
DVC-cached outputs, so they hold no wall-clock time: a re-run writes the same bytes. The fit
times are in the report `fit_models` returns, which the CLI prints.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from feature_definitions.features import FEATURES
from model_registry.predictor import Predictor, SklearnPredictor
from model_registry.torch_predictor import TorchPredictor
from storage.atomic import staged_directory
from train import cpu_numerics
from train.baseline import check_baseline_params, fit_baseline
from train.data import read_splits
from train.distributed import World
from train.metrics import max_f1_threshold
from train.params import MODELS, TrainParams
from train.progress import Progress
from train.torch_model import fit_network, naming_memory_failures

TRAINING_FILE = "training.json"
HISTORY_FILE = "torch_history.json"


def configure_torch(threads: int, world: World) -> int:
    """Deterministic kernels and a fixed thread count, so a CPU run repeats exactly, on any CPU
    model. 0 threads means the node's pinned count (cpu_numerics) shared by the node's processes,
    never the machine's core count: parallel reductions sum in an order that depends on it, and
    processes that each take the whole count wait on each other's threads (docs/benchmarks.md,
    "Two processes share the pinned threads"). Returns the thread count."""
    if threads <= 0:
        threads = max(1, cpu_numerics.THREADS // world.local_size)
    torch.set_num_threads(threads)
    # CUDA's deterministic matrix products need this workspace setting before the first call.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    return threads


@contextmanager
def _pinned_openmp_threads() -> Iterator[None]:
    """The pinned thread count (cpu_numerics.THREADS) for scikit-learn while the baseline fits,
    whatever torch's is. torch.set_num_threads also sets the OpenMP pool scikit-learn's
    boosting shares with torch, and the fitted pipeline records the count it saw: with torch's
    (`--threads`, or a node's share under `--nproc-per-node`) the same model would be saved as
    other bytes, so another DVC hash. Through torch's public call, since the OpenMP runtime
    that needs the setting is the one torch's call reaches; torch's count is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(cpu_numerics.THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _with_threshold(
    predictor: Predictor, validation: tuple[pd.DataFrame, np.ndarray], rule: str | float
) -> Predictor:
    if rule == "max_f1":
        predictor.threshold = max_f1_threshold(
            validation[1], predictor.predict_proba(validation[0])
        )
    else:
        predictor.threshold = float(rule)
    return predictor


def fit_models(
    files: Mapping[str, Path],
    output: Path,
    params: TrainParams,
    world: World,
    progress: Progress,
    models: Sequence[str] = MODELS,
    threads: int = 0,
) -> dict[str, Any] | None:
    """Fit `models`; the main process writes `output` and returns the training report plus the
    fit time of each model (`fit_seconds`), the others return None."""
    threads = configure_torch(threads, world)
    splits = read_splits({split: files[split] for split in ("train", "validation")})
    train, validation = splits["train"], splits["validation"]
    if "baseline" in models:
        check_baseline_params(params.baseline, len(train[1]))
    report: dict[str, Any] = {
        "params": params.model_dump(mode="json"),
        "rows": {name: len(split[1]) for name, split in splits.items()},
        "device": str(world.device),
        "world_size": world.size,
        "backend": world.backend,
        "threads_per_process": threads,
        "models": {},
    }
    predictors: dict[str, Predictor] = {}
    fit_seconds: dict[str, float] = {}
    history: list[dict[str, Any]] = []
    if "torch" in models:
        progress.line(
            f"torch: fitting on {len(train[1]):,} rows, {world.size} process(es) on {world.device}"
        )
        started = time.perf_counter()
        sizes = {"train": len(train[1]), "validation": len(validation[1])}
        with naming_memory_failures(params.torch, world.device, sizes):
            network = fit_network(train, validation, params.torch, params.seed, world, progress)
        seconds = time.perf_counter() - started
        network_predictor = TorchPredictor(network.encoding, network.network, FEATURES, 0.5)
        predictors["torch"] = _with_threshold(network_predictor, validation, params.threshold)
        history = network.history
        fit_seconds["torch"] = seconds
        report["models"]["torch"] = {
            "epochs_run": network.epochs_run,
            "best_epoch": network.best_epoch,
        }
        progress.line(f"torch: done in {seconds:.1f} s, best epoch {network.best_epoch}")
    if not world.is_main:
        return None
    if "baseline" in models:
        progress.line(f"baseline: fitting {params.baseline.model} on {len(train[1]):,} rows")
        started = time.perf_counter()
        with _pinned_openmp_threads():
            fitted = fit_baseline(train, validation, params.baseline, params.seed)
        seconds = time.perf_counter() - started
        baseline = SklearnPredictor(fitted.pipeline, FEATURES, threshold=0.5)
        predictors["baseline"] = _with_threshold(baseline, validation, params.threshold)
        fit_seconds["baseline"] = seconds
        report["models"]["baseline"] = {
            "model": params.baseline.model,
            "iterations": fitted.iterations,
        }
        progress.line(f"baseline: done in {seconds:.1f} s, {fitted.iterations} iterations")
    for name, predictor in predictors.items():
        report["models"][name]["threshold"] = predictor.threshold
    with staged_directory(output) as staging:
        for name, predictor in predictors.items():
            predictor.save(staging / name)
        (staging / TRAINING_FILE).write_text(json.dumps(report, indent=2) + "\n")
        if history:
            (staging / HISTORY_FILE).write_text(json.dumps(history, indent=2) + "\n")
    return {**report, "fit_seconds": fit_seconds}
