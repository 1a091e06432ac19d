"""The ./pants launcher: bootstraps from PyPI, reuses its cache, repairs a broken one, says
exactly what is missing when there is no CPython 3.9, and sizes Pants' process pool to the
machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.build.repo_copy import SANDBOX_ROOT

LAUNCHER = SANDBOX_ROOT / "pants"
OFFLINE_CONFIG = SANDBOX_ROOT / "pants.offline.toml"
# The versions the launcher installs, read where they are pinned.
PANTS_VERSION = tomllib.loads((SANDBOX_ROOT / "pants.toml").read_text())["GLOBAL"]["pants_version"]
# The launcher names the pex PEX after the version pants.offline.toml pins.
PEX_FILE = f"pex-{tomllib.loads(OFFLINE_CONFIG.read_text())['pex-cli']['version']}"


def bootstrap(cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the launcher in bootstrap-only mode against `cache`."""
    return subprocess.run(
        ["bash", str(LAUNCHER)],
        env={**os.environ, "PANTS_BOOTSTRAP_CACHE": str(cache), "PANTS_BOOTSTRAP_ONLY": "1", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bootstrap-cache")


@pytest.fixture(scope="module")
def bootstrapped(cache: Path) -> Path:
    first = bootstrap(cache)
    assert first.returncode == 0, first.stderr
    assert f"bootstrapping Pants {PANTS_VERSION}" in first.stderr
    return Path(first.stdout.strip())


def test_bootstrap_installs_pants_and_the_pinned_pex(bootstrapped: Path) -> None:
    version = subprocess.run(
        [str(bootstrapped / "venv" / "bin" / "python"), "-m", "pip", "show", "pantsbuild.pants"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"Version: {PANTS_VERSION}" in version.stdout
    # Pants verifies the pex PEX against pants.offline.toml: the build must reproduce that hash.
    pinned = OFFLINE_CONFIG.read_text()
    assert (bootstrapped / "READY").read_text().strip() in pinned
    assert (bootstrapped / PEX_FILE).stat().st_size > 1_000_000


def test_a_second_run_reuses_the_cache(cache: Path, bootstrapped: Path) -> None:
    again = bootstrap(cache)
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""
    assert Path(again.stdout.strip()) == bootstrapped


@pytest.mark.parametrize("caller_sets", [None, "1"])
def test_pants_runs_half_again_as_many_processes_as_cores_unless_told(
    cache: Path, bootstrapped: Path, tmp_path: Path, caller_sets: str | None
) -> None:
    # Pants itself, on a config without the repo's plugins (they are not in this sandbox).
    config = tmp_path / "pants.toml"
    config.write_text(f'[GLOBAL]\npants_version = "{PANTS_VERSION}"\nbackend_packages = []\n')
    env = {
        **os.environ,
        "PANTS_BOOTSTRAP_CACHE": str(cache),
        "PANTS_CONFIG_FILES": f"['{config}']",
    }
    env.pop("PANTS_PROCESS_EXECUTION_LOCAL_PARALLELISM", None)
    if caller_sets is not None:
        env["PANTS_PROCESS_EXECUTION_LOCAL_PARALLELISM"] = caller_sets
    shown = subprocess.run(
        ["bash", str(LAUNCHER), "--no-pantsd", "help-advanced", "global"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0, shown.stderr
    option = shown.stdout.split("--process-execution-local-parallelism=<int>")[1]
    cores = os.cpu_count() or 1
    want = cores + cores // 2 if caller_sets is None else int(caller_sets)
    assert f"current value: {want} (from env var" in option.split("\n\n")[0]


@pytest.mark.parametrize(
    "damage",
    ["truncated pex", "missing READY marker", "deleted venv interpreter"],
)
def test_a_broken_cache_is_rebuilt(cache: Path, bootstrapped: Path, damage: str) -> None:
    if damage == "truncated pex":
        (bootstrapped / PEX_FILE).write_bytes(b"PK\x03\x04 cut short")
    elif damage == "missing READY marker":
        (bootstrapped / "READY").unlink()
    else:
        (bootstrapped / "venv" / "bin" / "python").unlink()
    rebuilt = bootstrap(cache)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "incomplete or corrupt; rebuilding it" in rebuilt.stderr
    assert "Traceback" not in rebuilt.stderr
    assert bootstrap(cache).stderr == ""


def test_without_cpython_39_it_says_what_is_missing_and_how_to_get_it(tmp_path: Path) -> None:
    # A PATH with the shell tools the launcher needs but no Python 3.9, and no pyenv.
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "sed", "head", "cksum", "cut", "mkdir", "dirname", "cat", "sha256sum"):
        found = shutil.which(tool)
        assert found, tool
        (tools / tool).symlink_to(found)
    result = bootstrap(
        tmp_path / "cache",
        PATH=str(tools),
        PYENV_ROOT=str(tmp_path / "no-pyenv"),
        HOME=str(tmp_path),
        PANTS_PYTHON="",
    )
    assert result.returncode != 0
    assert f"Pants {PANTS_VERSION} runs only on CPython 3.9, and none was found" in result.stderr
    assert "pyenv install 3.9" in result.stderr
    assert not (tmp_path / "cache" / "READY").exists()
