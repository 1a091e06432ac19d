"""Training gives the same bytes whatever kernels the CPU would pick.

One machine stands in for two CPU models: each run's environment asks PyTorch and MKL for other
code paths (plain versus AVX-512 kernels, MKL's automatic versus AVX2 branch) and other thread
counts, as an AMD EPYC and an Intel Xeon would choose by themselves. The service pins them
(train.cpu_numerics), so both runs must write byte-identical models, reports and metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from train.conftest import file_bytes, fresh_python, params_args, write_features

# What two different CPUs (or users) may leave in the environment.
CPU_A = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_CBWR": "AUTO",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
CPU_B = {
    "ATEN_CPU_CAPABILITY": "avx512",
    "MKL_CBWR": "AVX2",
    "OMP_NUM_THREADS": "3",
    "MKL_NUM_THREADS": "3",
}


def train_and_evaluate(features: Path, run: Path, env: dict[str, str]) -> dict[str, bytes]:
    models, evaluation = run / "models", run / "evaluation"
    fit = [
        "-m",
        "train.cli",
        "fit",
        "--features",
        str(features),
        "--output",
        str(models),
        *params_args(run),
    ]
    fitted = fresh_python(fit, env)
    assert fitted.returncode == 0, fitted.stderr
    scored = fresh_python(
        ["-m", "train.cli", "evaluate", "--features", str(features), "--models", str(models),
         "--output", str(evaluation), *params_args(run), "--no-register"],
        env,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    return file_bytes(run)


@pytest.mark.parametrize("env", [CPU_A, CPU_B], ids=["plain-kernels", "avx512-kernels"])
def test_torch_runs_the_pinned_kernels_whatever_the_environment_asks(env: dict[str, str]) -> None:
    probe = (
        "import train, torch; "
        "print(torch.backends.cpu.get_cpu_capability(), torch.get_num_threads())"
    )
    seen = fresh_python(["-c", probe], env)
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.split() == ["AVX2", "2"]


def test_without_the_pins_the_environment_changes_the_kernels() -> None:
    """The test above could not pass by accident: unpinned, torch follows the environment."""
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    seen = fresh_python(["-c", probe], CPU_A)
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.strip() == "DEFAULT"


@pytest.mark.timeout(600)
def test_both_models_are_byte_identical_under_two_kernel_dispatch_settings(tmp_path: Path) -> None:
    features = write_features(tmp_path / "features")
    first = train_and_evaluate(features, tmp_path / "a", CPU_A)
    second = train_and_evaluate(features, tmp_path / "b", CPU_B)
    assert any(name.startswith("models/") and "torch" in name for name in first), sorted(first)
    assert "evaluation/metrics.json" in first
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []
