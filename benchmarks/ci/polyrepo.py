"""The layout the monorepo replaces, emulated: one repository per service and per shared lib.

Each emulated repository holds one package of this repo (a service or a lib) with its tests, a
`requirements.txt` of the third-party distributions it imports and, for a service, the libs it
uses pinned at a released version. Its CI is what a submodule repository's CI does on a fresh
runner: create a virtualenv, `pip install` its requirements, run `pytest`. A lib's CI also
builds the wheel that the services pin (the "release").

The repositories are generated from the Pants graph (`./pants dependencies --transitive`), so
they hold exactly the code and requirements the monorepo's targets have; third-party versions
are constrained to the lockfile's, so both layouts test against the same versions.

Cases, timed by `run_case`:
- full: every repository's CI, libs first (their wheels are what services install);
- incremental: a one-line change in one service re-runs that repository's CI only;
- lib change: the lib's CI (test, release a new version), then every repository that pins it
  bumps the pin and re-runs its CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import REPO

PYTHON = os.environ.get("POLYREPO_PYTHON", "python3.11")
LIB_VERSION = "1.0.0"
DIST_PREFIX = "mlp-"
# What each repository's CI installs besides its own requirements, as this repo's tests do.
TEST_TOOLS = ("pytest", "pytest-timeout")


@dataclass(frozen=True)
class Unit:
    """One emulated repository: a service or a lib of this repo."""

    name: str
    path: str  # e.g. services/train
    package: str  # the importable package directory under `path`
    is_lib: bool
    libs: tuple[str, ...]  # libs it pins
    requirements: tuple[str, ...]  # third-party distribution names


def pants_dependencies(spec: str) -> list[str]:
    result = subprocess.run(
        [str(REPO / "pants"), "dependencies", "--transitive", spec],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.split()


def discover_units() -> list[Unit]:
    units = []
    for kind_dir, is_lib in (("libs", True), ("services", False)):
        for unit_dir in sorted((REPO / kind_dir).iterdir()):
            package = unit_dir / unit_dir.name
            if not package.is_dir():
                continue
            deps = pants_dependencies(f"{kind_dir}/{unit_dir.name}::")
            libs = sorted(
                {d.split("/")[1] for d in deps if d.startswith("libs/") and "/" in d[5:]}
                - {unit_dir.name}
            )
            requirements = sorted(
                {d.split("#", 1)[1] for d in deps if d.startswith("3rdparty/python:reqs#")}
            )
            units.append(
                Unit(
                    name=unit_dir.name,
                    path=f"{kind_dir}/{unit_dir.name}",
                    package=unit_dir.name,
                    is_lib=is_lib,
                    libs=tuple(libs),
                    requirements=tuple(r for r in requirements if not r.startswith("types-")),
                )
            )
    return units


def locked_versions() -> dict[str, str]:
    """name == version of every distribution in the default lockfile."""
    text = (REPO / "3rdparty/python/default.lock").read_text()
    lock = json.loads("\n".join(line for line in text.splitlines() if not line.startswith("//")))
    versions = {}
    for resolve in lock["locked_resolves"]:
        for requirement in resolve["locked_requirements"]:
            versions[requirement["project_name"]] = requirement["version"]
    return versions


def write_repository(unit: Unit, root: Path, lib_versions: dict[str, str]) -> Path:
    """Check out `unit` as its own repository under `root`; return its directory."""
    repo = root / unit.name
    if repo.exists():
        shutil.rmtree(repo)
    shutil.copytree(
        REPO / unit.path / unit.package,
        repo / unit.package,
        ignore=shutil.ignore_patterns("BUILD", "__pycache__"),
        symlinks=True,
    )
    pins = [f"{DIST_PREFIX}{lib}=={lib_versions[lib]}" for lib in unit.libs]
    (repo / "requirements.txt").write_text("\n".join([*unit.requirements, *pins]) + "\n")
    if unit.is_lib:
        (repo / "pyproject.toml").write_text(
            "[build-system]\n"
            "requires = ['setuptools>=61', 'wheel']\n"
            "build-backend = 'setuptools.build_meta'\n"
            "[project]\n"
            f"name = '{DIST_PREFIX}{unit.name}'\n"
            f"version = '{lib_versions[unit.name]}'\n"
            "[tool.setuptools]\n"
            f"packages = ['{unit.package}']\n"
        )
    return repo


def ci(repo: Path, unit: Unit, env: dict[str, str], wheelhouse: Path, constraints: Path) -> float:
    """One CI run of the repository: fresh venv, install, test (and release a lib's wheel)."""
    start = time.perf_counter()
    venv = repo / ".venv"
    shutil.rmtree(venv, ignore_errors=True)
    run([PYTHON, "-m", "venv", str(venv)], repo, env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    find_links = ["--find-links", str(wheelhouse)]
    if env.get("WHEELS_DIR"):
        find_links += ["--find-links", env["WHEELS_DIR"]]
    run(
        [*pip, "install", "-r", "requirements.txt", *TEST_TOOLS, "-c", str(constraints),
         *find_links],
        repo,
        env,
    )  # fmt: skip
    run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], repo, env)
    if unit.is_lib:
        run([*pip, "wheel", "--no-deps", "-w", str(wheelhouse), "."],
            repo, env)  # fmt: skip
    return time.perf_counter() - start


def run(command: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )


@dataclass
class Polyrepo:
    root: Path
    units: list[Unit]
    env: dict[str, str]

    def __post_init__(self) -> None:
        self.wheelhouse = self.root / "wheelhouse"
        self.wheelhouse.mkdir(parents=True, exist_ok=True)
        self.constraints = self.root / "constraints.txt"
        versions = locked_versions()
        # The libs are this layout's own releases; everything else comes at the lock's version.
        self.constraints.write_text(
            "".join(f"{name}=={version}\n" for name, version in sorted(versions.items()))
        )
        self.lib_versions = {u.name: LIB_VERSION for u in self.units if u.is_lib}
        self.repos = {u.name: write_repository(u, self.root, self.lib_versions) for u in self.units}

    def unit(self, name: str) -> Unit:
        return next(u for u in self.units if u.name == name)

    def ci_of(self, names: Iterable[str]) -> dict[str, float]:
        return {n: ci(self.repos[n], self.unit(n), self.env, self.wheelhouse, self.constraints)
                for n in names}  # fmt: skip

    def full(self) -> dict[str, float]:
        libs = lib_build_order([u for u in self.units if u.is_lib])
        return self.ci_of([*libs, *(u.name for u in self.units if not u.is_lib)])

    def one_line_change(self, service: str, relative_file: str) -> dict[str, float]:
        with open(self.repos[service] / relative_file, "a") as changed:
            changed.write("\n# a one-line change\n")
        return self.ci_of([service])

    def lib_change(self, lib: str, relative_file: str) -> dict[str, float]:
        """Change the lib, release the next version, bump it wherever it is pinned, re-run CI."""
        major, minor, patch = self.lib_versions[lib].split(".")
        self.lib_versions[lib] = f"{major}.{minor}.{int(patch) + 1}"
        self.repos[lib] = write_repository(self.unit(lib), self.root, self.lib_versions)
        with open(self.repos[lib] / relative_file, "a") as changed:
            changed.write("\n# a change in the shared lib\n")
        timings = self.ci_of([lib])
        dependents = [u.name for u in self.units if lib in u.libs]
        for name in dependents:
            requirements = self.repos[name] / "requirements.txt"
            requirements.write_text(
                re.sub(
                    rf"^{DIST_PREFIX}{lib}==.*$",
                    f"{DIST_PREFIX}{lib}=={self.lib_versions[lib]}",
                    requirements.read_text(),
                    flags=re.MULTILINE,
                )
            )
        timings.update(self.ci_of(dependents))
        return timings


def lib_build_order(libs: list[Unit]) -> list[str]:
    """Libs before the libs that pin them."""
    ordered: list[str] = []
    pending = {u.name: set(u.libs) for u in libs}
    while pending:
        ready = sorted(n for n, needs in pending.items() if needs <= set(ordered))
        if not ready:
            raise SystemExit(f"libs pin each other in a cycle: {pending}")
        ordered += ready
        for name in ready:
            del pending[name]
    return ordered


if __name__ == "__main__":
    for unit in discover_units():
        print(unit, file=sys.stderr)
