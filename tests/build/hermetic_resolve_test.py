"""Builds from the lockfiles do not depend on the machine's pip configuration.

A cold `./pants package` of a PEX runs with every cache empty (Pants' named caches and store, the
launcher's bootstrap, and pex's own `~/.pex`) while a hostile pip configuration sits where a
machine's own would: a global `pip.conf` with a `constraint` file that contradicts the lockfile
and a bogus extra index. It is put there by bind mounts in a private mount namespace, so every
process sees it as a machine file and no environment variable the fix could reset is involved.
The machine's files are never touched. Needs root (unshare -m); skipped elsewhere, which
`.ci/run` says before the tests start.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.build.repo_copy import RepoCopy

# Where pip looks for its global and user configuration on Linux: the XDG system directory,
# the legacy global file, and the user's directory.
SYSTEM_XDG = Path("/etc/xdg")
LEGACY_GLOBAL = Path("/etc/pip.conf")
USER_PIP = Path.home() / ".config" / "pip"
# pex keeps downloads in the user's ~/.pex, found through the password database, not $HOME.
PEX_ROOT = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".pex"

# Probes built from default.lock; each test builds a different one so that the second cannot
# take its artifact from the first one's download cache.
PROBE_BUILD = """
pex_binary(name="yaml", dependencies=["//3rdparty/python:reqs#pyyaml"])
pex_binary(name="tqdm", dependencies=["//3rdparty/python:reqs#tqdm"])
"""


def _namespaces_available() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture(scope="module", autouse=True)
def _needs_namespaces() -> None:
    if _namespaces_available():
        return
    pytest.skip("needs root and unshare -m to bind a hostile pip configuration over the machine's")


@dataclass(frozen=True)
class ColdMachine:
    """A repo copy plus empty caches, run inside a mount namespace with a hostile pip config."""

    repo: RepoCopy
    caches: Path
    hostile: Path
    empty_pex_root: Path

    def run(self, command: str, *, network: bool = True) -> subprocess.CompletedProcess[str]:
        binds = [(self.hostile / "xdg", SYSTEM_XDG), (self.empty_pex_root, PEX_ROOT)]
        if LEGACY_GLOBAL.is_file():
            binds.append((self.hostile / "xdg" / "pip" / "pip.conf", LEGACY_GLOBAL))
        if USER_PIP.is_dir():
            binds.append((self.hostile / "xdg" / "pip", USER_PIP))
        mounts = " && ".join(
            f"mount --bind {shlex.quote(str(src))} {shlex.quote(str(dst))}" for src, dst in binds
        )
        script = f"{mounts} && cd {shlex.quote(str(self.repo.root))} && {command}"
        # A user's shell: the fix itself puts PIP_CONFIG_FILE into this test's environment
        # (pants.toml's [subprocess-environment]); inherited, it would hide a broken fix.
        shell = {name: value for name, value in os.environ.items() if name != "PIP_CONFIG_FILE"}
        env = {
            **shell,
            "PANTS_NAMED_CACHES_DIR": str(self.caches / "named"),
            "PANTS_LOCAL_STORE_DIR": str(self.caches / "store"),
            "PANTS_BOOTSTRAP_CACHE": str(self.caches / "bootstrap"),
        }
        unshare = ["unshare", "-m", "--propagation", "private"] + ([] if network else ["-n"])
        return subprocess.run(
            [*unshare, "bash", "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )


@pytest.fixture(scope="module")
def cold_machine(tmp_path_factory: pytest.TempPathFactory) -> ColdMachine:
    root = tmp_path_factory.mktemp("cold")
    hostile = root / "hostile"
    (hostile / "xdg" / "pip").mkdir(parents=True)
    constraints = hostile / "constraints.txt"
    # The machine kind's torch cap, plus pins no lockfile can meet: a build that reads this file
    # fails whatever pip's resolver does with constraints.
    constraints.write_text("torch<=2.14.1\npyyaml==0.0.1\ntqdm==0.0.1\npip==0.0.1\n")
    (hostile / "xdg" / "pip" / "pip.conf").write_text(
        "[global]\n"
        f"constraint = {constraints}\n"
        "extra-index-url = http://127.0.0.1:9/bogus-index/simple\n"
    )
    empty_pex_root = root / "pex-root"
    empty_pex_root.mkdir()
    PEX_ROOT.mkdir(exist_ok=True)  # the mount point; pex creates it on first use anyway
    repo = RepoCopy.create(root / "repo")
    repo.write("hermetic_probe/BUILD", PROBE_BUILD)
    repo.commit("probe PEXes built from the lockfile")
    return ColdMachine(repo, root / "caches", hostile, empty_pex_root)


PANTS = "./pants --no-pantsd --no-dynamic-ui --no-watch-filesystem"


def test_the_hostile_configuration_is_what_pip_sees(cold_machine: ColdMachine) -> None:
    """The setup is real: outside Pants, pip in the namespace reads the hostile constraint."""
    seen = cold_machine.run("python3 -m pip config debug")
    assert seen.returncode == 0, seen.stderr
    assert "bogus-index" in seen.stdout


def test_a_cold_build_from_the_lockfile_ignores_machine_pip_configuration(
    cold_machine: ColdMachine,
) -> None:
    built = cold_machine.run(
        f"{PANTS} package hermetic_probe:yaml && dist/hermetic_probe/yaml.pex -c "
        "'import yaml; print(\"yaml\", yaml.__version__)'"
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output[-6000:]
    assert "AssertionError" not in output
    locked = (cold_machine.repo.root / "3rdparty/python/default.lock").read_text()
    version = built.stdout.split("yaml ")[-1].strip()
    assert f'"version": "{version}"' in locked


def test_an_unreachable_index_names_the_index_and_the_package(cold_machine: ColdMachine) -> None:
    """With no network at all, the error says which artifact could not be fetched from where."""
    failed = cold_machine.run(f"{PANTS} package hermetic_probe:tqdm", network=False)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "AssertionError" not in output
    assert "tqdm" in output
    assert "files.pythonhosted.org" in output
