"""Floating-point results that do not depend on the CPU model.

The same inputs must give the same model bytes and metrics on every x86-64 machine (an AMD EPYC
and an Intel Xeon alike), or `dvc.lock` changes with the machine that ran the pipeline. What
varies with the CPU, and what pins it:

- PyTorch's kernels: ATen picks AVX-512, AVX2 or plain code by what the CPU offers, and wider
  vectors sum in another order. `ATEN_CPU_CAPABILITY=avx2` is the widest level every current
  x86-64 server CPU has (Intel since Haswell, AMD since Zen).
- MKL, torch's BLAS: its automatic branch differs by CPU generation and by vendor. `COMPATIBLE`
  is the one branch MKL documents as giving the same results on Intel and non-Intel CPUs.
- oneDNN (some torch operators): capped at AVX2 like ATen.
- OpenBLAS (numpy, scipy: the logistic-regression baseline): its core type, fixed to Haswell.
- Thread counts: parallel reductions (torch's, MKL's, scikit-learn's OpenMP sums in gradient
  boosting) split work by thread, so the count is fixed too, not taken from the machine's cores.

The libraries read these settings when they load, so `pin()` must run before torch or numpy is
imported; `train/__init__.py` calls it, so every entry point of the service (the CLI, torchrun's
workers, SageMaker) is pinned. Code that imports numpy before the train package (an in-process
test, a notebook) gets a warning: its results may then differ between CPU models. `pin()`
overrides what the environment says: a setting the user or machine left would make the results
machine-dependent again. docs/benchmarks.md has the training-time cost;
docs/adr/0010-cpu-independent-numerics.md the decision.

`TRAIN_UNPINNED_NUMERICS=1` leaves the environment as it is: only for measuring what the pins
cost (benchmarks/cpu_numerics_cost.py); results then depend on the CPU model.
"""

from __future__ import annotations

import os
import sys
import warnings

# Intra-op threads of every library; parallel reductions are only repeatable at a fixed count.
# A node's training processes share torch's (train.fit.configure_torch).
THREADS = 2

PINNED_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
    "OMP_NUM_THREADS": str(THREADS),
    "MKL_NUM_THREADS": str(THREADS),
    "OPENBLAS_NUM_THREADS": str(THREADS),
}

# Set to 1 to measure the unpinned speed; never in the pipeline.
OPT_OUT = "TRAIN_UNPINNED_NUMERICS"

# Libraries that read the settings above when they load.
_READERS = ("torch", "numpy", "sklearn", "scipy")


def pin() -> None:
    """Set the environment that makes results CPU-independent; call before importing torch."""
    if os.environ.get(OPT_OUT) == "1":
        return
    loaded = [name for name in _READERS if name in sys.modules]
    unpinned = [name for name, value in PINNED_ENV.items() if os.environ.get(name) != value]
    if loaded and unpinned:
        warnings.warn(
            f"{', '.join(loaded)} imported before the train package: {', '.join(unpinned)} may "
            "not take effect, so results may differ between CPU models. Import train first.",
            RuntimeWarning,
            stacklevel=2,
        )
    os.environ.update(PINNED_ENV)
