"""Data-parallel training in two local processes (gloo on loopback) reaches the quality of one
process: on the synthetic table the test ROC-AUC of the two runs differs by at most TOLERANCE.
The global batch is the same rows either way, so the difference comes from rounding and
dropout masks alone."""

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from train.cli import main
from train.conftest import params_args
from train.cpu_numerics import THREADS
from train.distributed import WorldError, backend_for, join_world, place_in_world

TOLERANCE = 0.02


def fit_and_score(features: Path, run: Path, *extra: str) -> tuple[dict, float]:  # type: ignore[type-arg]
    models_dir = run / "models"
    fit = ["fit", "--features", str(features), "--output", str(models_dir), "--models", "torch"]
    assert main([*fit, *params_args(run), *extra]) == 0
    evaluate = ["evaluate", "--features", str(features), "--models", str(models_dir)]
    assert (
        main([*evaluate, "--output", str(run / "evaluation"), *params_args(run), "--no-register"])
        == 0
    )
    metrics = json.loads((run / "evaluation" / "metrics.json").read_text())
    return json.loads((models_dir / "training.json").read_text()), metrics["torch"]["roc_auc"]


@pytest.mark.timeout(300)
def test_two_processes_reach_the_single_process_quality(
    features: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    # tempfile's documented default directory: where torchrun would leave its log directories.
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    single, single_auc = fit_and_score(features, tmp_path / "single")
    # The workers start where a package named as this code fails on import (as a checkout's
    # services/train/ would offer the sources): they must import the launcher's code.
    decoy = tmp_path / "cwd" / "train"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('train imported from the cwd')\n")
    # (Pants' test runner names the source roots relative to the sandbox.)
    monkeypatch.setattr(sys, "path", [os.path.abspath(p) for p in sys.path])
    monkeypatch.chdir(decoy.parent)
    double, double_auc = fit_and_score(features, tmp_path / "double", "--nproc-per-node", "2")
    # A directory per launch, never removed (torch's compile cache, torchinductor_<user>, is
    # one directory, reused).
    assert [p.name for p in temp.iterdir() if p.name.startswith("torchelastic_")] == []
    assert (single["world_size"], single["backend"]) == (1, None)
    assert (double["world_size"], double["backend"]) == (2, "gloo")
    # The node's pinned threads are shared: each of two processes takes half, not all of them.
    assert (single["threads_per_process"], double["threads_per_process"]) == (THREADS, THREADS // 2)
    assert single_auc > 0.75
    assert abs(double_auc - single_auc) <= TOLERANCE, (single_auc, double_auc)


def test_nccl_on_a_gpu_gloo_on_the_cpu() -> None:
    assert backend_for(torch.device("cuda", 0)) == "nccl"
    assert backend_for(torch.device("cpu")) == "gloo"


def test_without_torchrun_a_process_is_a_world_of_one() -> None:
    world = join_world({})
    assert (world.rank, world.size, world.distributed, world.is_main) == (0, 1, False, True)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """(rank, size, local rank, local size) of a world torchrun could start."""
    size = draw(st.integers(1, 64))
    local_size = draw(st.integers(1, size))
    return draw(st.integers(0, size - 1)), size, draw(st.integers(0, local_size - 1)), local_size


def torchrun_environ(rank: int, size: int, local_rank: int, local_size: int) -> dict[str, str]:
    return {
        "RANK": str(rank),
        "WORLD_SIZE": str(size),
        "LOCAL_RANK": str(local_rank),
        "LOCAL_WORLD_SIZE": str(local_size),
    }


@given(worlds())
def test_a_world_torchrun_could_start_is_read_as_it_is(world: tuple[int, int, int, int]) -> None:
    assert place_in_world(torchrun_environ(*world)) == world


@given(
    worlds(),
    st.sampled_from(["RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"]),
    st.sampled_from(["", "two", "1.5", "0x2", "-1"]),
)
def test_a_variable_that_is_no_count_is_named(
    world: tuple[int, int, int, int], name: str, bad: str
) -> None:
    environ = {**torchrun_environ(*world), name: bad}
    with pytest.raises(WorldError, match=f"^{name}="):
        place_in_world(environ)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"WORLD_SIZE": "0"}, "WORLD_SIZE=0 must be at least 1"),
        ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK=2 is not below WORLD_SIZE=2"),
        ({"WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "3"}, "LOCAL_WORLD_SIZE=3 is above WORLD_SIZE=2"),
        (
            {"WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2", "LOCAL_RANK": "2"},
            "LOCAL_RANK=2 is not below LOCAL_WORLD_SIZE=2",
        ),
    ],
)
def test_a_place_outside_the_world_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(WorldError, match=message):
        join_world(environ)


def test_fit_says_which_torchrun_variable_is_wrong(
    features: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "two")
    fit = ["fit", "--features", str(features), "--output", str(tmp_path / "models")]
    assert main([*fit, "--models", "torch", *params_args(tmp_path)]) == 2
    assert "train: error: WORLD_SIZE='two' is not a whole number" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


@pytest.mark.timeout(300)
def test_a_failed_training_process_exits_1_naming_it(
    features: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The launcher checks the data and parameters; only the workers' training diverges.
    fit = ["fit", "--features", str(features), "--output", str(tmp_path / "models")]
    fit += ["--models", "torch", "--nproc-per-node", "2", *params_args(tmp_path)]
    diverging = ["--set=train.torch.learning_rate=1.0e+300", "--set=train.torch.epochs=1"]
    assert main([*fit, *diverging]) == 1
    err = capfd.readouterr().err
    # Each worker names its error, then the launcher which worker failed.
    assert "the network diverged; lower train.torch.learning_rate (1e+300)" in err
    assert re.search(r"train: error: a training process failed:\n+=+\ntrain\.cli FAILED", err), err
    assert not (tmp_path / "models").exists()
