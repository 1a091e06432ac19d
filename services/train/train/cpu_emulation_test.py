"""The network's fit writes the same bytes on another CPU model, run under an emulator.

cpu_numerics_test varies what one machine can vary through the environment; it cannot change
the CPU itself, and it missed a difference between an AMD EPYC and an Intel Xeon (ADR 0010,
"the optimizer's square root"). Here Debian's qemu-user runs the same interpreter and wheels as
a CPU of the other vendor, so the libraries see other CPUID flags and take the code paths that
CPU would, and the emulated instructions round as qemu does, not as this host does. .ci/run
installs qemu-user; without it (or off x86-64) the test is skipped and says why.

Only the network: scikit-learn's OpenMP threads crash under qemu-user."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

import pytest

from train.conftest import file_bytes, fresh_python, params_args, write_features

QEMU = shutil.which("qemu-x86_64")

pytestmark = pytest.mark.skipif(
    QEMU is None or platform.machine() != "x86_64",
    reason="needs Debian's qemu-user (qemu-x86_64) on an x86-64 host; .ci/run installs it",
)

# The emulated CPU is of the other vendor than the host: the difference ADR 0010 met.
OTHER_VENDOR = {"AuthenticAMD": "Haswell-v4", "GenuineIntel": "EPYC-Rome-v2"}


def host_vendor() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("vendor_id"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def fit_network(features: Path, run: Path, emulated_cpu: str | None) -> dict[str, bytes]:
    """`train fit --models torch` in a fresh interpreter, natively or under qemu-x86_64."""
    launcher = [] if emulated_cpu is None else [str(QEMU), "-cpu", emulated_cpu]
    models = run / "models"
    fitted = fresh_python(
        ["-m", "train.cli", "fit", "--models", "torch", "--features", str(features),
         "--output", str(models), *params_args(run)],
        launcher=launcher,
        timeout=540,
    )  # fmt: skip
    assert fitted.returncode == 0, fitted.stderr
    return file_bytes(models)


@pytest.mark.timeout(1140)
def test_the_network_is_byte_identical_on_an_emulated_cpu_of_the_other_vendor(
    tmp_path: Path,
) -> None:
    features = write_features(tmp_path / "features", rows=(1000, 300, 300))
    native = fit_network(features, tmp_path / "native", None)
    other_cpu = OTHER_VENDOR.get(host_vendor(), "Haswell-v4")
    emulated = fit_network(features, tmp_path / "emulated", other_cpu)
    assert any("torch" in name for name in native), sorted(native)
    assert native.keys() == emulated.keys()
    differing = [name for name in native if native[name] != emulated[name]]
    assert differing == []
