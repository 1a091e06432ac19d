"""The lockfile's promises: CPU torch through ${WHEELS_DIR}, no CUDA packages, every artifact
hashed, and no machine path anywhere in the committed build configuration."""

from __future__ import annotations

import re

import pytest

from tests.build.repo_copy import SANDBOX_ROOT
from tests.lockfiles import DEFAULT_LOCK, locked_requirements


def test_torch_is_the_cpu_build_from_the_wheels_dir() -> None:
    (torch,) = (
        r for r in locked_requirements(SANDBOX_ROOT / DEFAULT_LOCK) if r["project_name"] == "torch"
    )
    assert torch["version"] == "2.13.0+cpu"
    urls = [a["url"] for a in torch["artifacts"]]
    assert urls and all(u.startswith("file://${WHEELS_DIR}/torch-2.13.0%2Bcpu-") for u in urls)


def test_no_cuda_or_triton_package_is_locked() -> None:
    names = {r["project_name"] for r in locked_requirements(SANDBOX_ROOT / DEFAULT_LOCK)}
    assert not {n for n in names if re.fullmatch(r"nvidia-.*-cu\d+|triton", n)}


@pytest.mark.parametrize("name", ["scikit-learn", "bentoml", "dvc", "pandas", "pyarrow", "pytest"])
def test_required_packages_are_locked(name: str) -> None:
    assert name in {r["project_name"] for r in locked_requirements(SANDBOX_ROOT / DEFAULT_LOCK)}


def test_every_artifact_has_a_sha256() -> None:
    for requirement in locked_requirements(SANDBOX_ROOT / DEFAULT_LOCK):
        for artifact in requirement["artifacts"]:
            assert artifact["algorithm"] == "sha256" and len(artifact["hash"]) == 64, requirement


def test_no_absolute_machine_path_in_build_configuration() -> None:
    machine_path = re.compile(r"""["'= :(]/(opt|root|home|tmp|work|usr/local|var)/""")
    config = [
        *SANDBOX_ROOT.glob("*.toml"),
        *SANDBOX_ROOT.glob("3rdparty/python/*"),
        *SANDBOX_ROOT.glob("**/BUILD"),
        SANDBOX_ROOT / "pants",
    ]
    offenders = [
        f"{path.relative_to(SANDBOX_ROOT)}:{number}"
        for path in config
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if machine_path.search(line)
    ]
    assert offenders == []
