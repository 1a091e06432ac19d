"""The Bento, as the serve artifact's `build` builds it (the main job and the DAG run the same
PEX): it packs the service, the libs it imports and the promoted model, and no other code;
serving the built Bento answers predictions; the generated Dockerfile (the `bentoml containerize`
path) is there with the pinned requirements, and they pin every package the service's code
imports and what those require, at the artifact's versions."""

from __future__ import annotations

import ast
import os
import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from importlib.metadata import packages_distributions
from pathlib import Path

from serve.bento import PACKAGES
from serve.smoke import EXAMPLE, smoke
from serve.sources import ALLOWANCE_ENV
from tests.serving.conftest import World
from tests.serving.harness import (
    ONE_WORKER,
    SERVE_ARTIFACT,
    as_request,
    request_flights,
    server_env,
    third_party_path,
)


def test_the_built_bento_serves_predictions(world: World) -> None:
    built = subprocess.run(
        [str(SERVE_ARTIFACT / "__main__.py"), "build"],
        env={**os.environ, "BENTOML_HOME": str(world.home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    tag = built.stdout.strip()
    name, version = tag.split(":")
    bento = world.home / "bentos" / name / version
    # The service's code is the artifact's: no test, test helper or other entry point. And
    # the builder copies every first-party package the artifact holds.
    carried = {p.name for p in SERVE_ARTIFACT.iterdir() if p.is_dir() and p.name.isidentifier()}
    assert carried - {"__pex__"} == set(PACKAGES)
    assert python_files(bento / "src") == python_files(SERVE_ARTIFACT, PACKAGES)
    assert (bento / "src" / "serve" / "service.py").is_file()
    dockerfile = (bento / "env" / "docker" / "Dockerfile").read_text()
    # The image's Python is the one the packages were pinned from (this test's, pants.toml's).
    assert f"FROM python:{sys.version_info.major}.{sys.version_info.minor}-" in dockerfile
    requirements = (bento / "env" / "python" / "requirements.txt").read_text()
    assert "bentoml==" in requirements and "scikit-learn==" in requirements
    # On AWS the serving data is at an s3:// location, which fsspec reads through s3fs.
    assert "s3fs==" in requirements
    # This test serves the Bento with its own environment, which has every package; the image
    # has only what requirements.txt pins (treelite was missing: the image would have scored
    # with scikit-learn, slower, with a warning).
    pinned = {canonical(m[1]) for m in re.finditer(r"^([A-Za-z0-9._-]+)==", requirements, re.M)}
    imported = imported_distributions(bento / "src", "serve.service")
    assert imported - pinned == set(), f"imported by the service, not pinned: {imported - pinned}"
    # What those require is pinned too, at the versions the artifact runs (this test's resolve is
    # the serve artifact's): the image resolves nothing itself, as BentoML's server (uvicorn,
    # starlette) and s3fs's client (aiobotocore) did when only the packages above were pinned.
    pins = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$", requirements, re.M))
    for transitive in ("uvicorn", "starlette", "aiobotocore", "botocore"):
        assert pins.get(transitive) == metadata.version(transitive), (transitive, requirements)

    env = {**server_env(world.home, world.features.parent), **ONE_WORKER}
    env["PYTHONPATH"] = third_party_path()
    flights = as_request(request_flights(world.features, world.curated).iloc[:5])
    # With the example the main job's smoke run sends: it is valid against the Bento too. It
    # leaves in November, past this test's January store by more than the default allowance.
    env[ALLOWANCE_ENV] = str(366 * 24)
    answer = smoke(tag, env, flights=[*flights, EXAMPLE])
    assert answer["model"] == world.tag
    assert len(answer["predictions"]) == 6


def test_a_bento_store_with_no_room_is_named_and_keeps_its_bentos(world: World) -> None:
    build = [str(SERVE_ARTIFACT / "__main__.py"), "build"]
    env = {**os.environ, "BENTOML_HOME": str(world.home)}
    # The artifact's venv is made before the limit, which its own files would exceed.
    subprocess.run([*build, "--help"], env=env, capture_output=True, check=True, timeout=300)
    bentos = world.home / "bentos"
    before = sorted(p.relative_to(bentos) for p in bentos.rglob("*")) if bentos.exists() else []

    def limit_file_size() -> None:
        # A real write failure (EFBIG), as a full disk fails it: before, BentoML's traceback.
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))

    failed = subprocess.run(
        build, env=env, capture_output=True, text=True, timeout=300, preexec_fn=limit_file_size
    )
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr.splitlines()[-1] == (
        f"serve build: error: cannot write {bentos}: File too large; {bentos} is left as it was"
    )
    assert "Traceback" not in failed.stderr
    after = sorted(p.relative_to(bentos) for p in bentos.rglob("*")) if bentos.exists() else []
    assert after == before


def python_files(root: Path, packages: tuple[str, ...] | None = None) -> set[Path]:
    """The .py files under `root` (only in `packages`, if named), relative to it."""
    tops = [root / name for name in packages] if packages else [root]
    return {path.relative_to(root) for top in tops for path in top.rglob("*.py")}


def canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def imported_distributions(src: Path, entry: str) -> set[str]:
    """The distributions of every third-party module that `entry` imports, directly or through
    the first-party modules under `src`, at import time or inside functions."""
    modules = {
        ".".join(path.relative_to(src).with_suffix("").parts).removesuffix(".__init__"): path
        for path in src.rglob("*.py")
    }
    first_party = {name.split(".")[0] for name in modules}
    owners = packages_distributions()
    seen: set[str] = set()
    queue, third_party = [entry], set[str]()
    while queue:
        module = queue.pop()
        if module in seen or module not in modules:
            continue
        seen.add(module)
        for name in imports(modules[module], module):
            top = name.split(".")[0]
            if top in first_party:
                # A module and the packages above it run on import.
                parts = name.split(".")
                queue.extend(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            elif top not in sys.stdlib_module_names:
                assert top in owners, f"{module} imports {top}, which no distribution provides"
                third_party.update(canonical(d) for d in owners[top])
    return third_party


def imports(path: Path, module: str) -> Iterator[str]:
    """The absolute names `path` (module `module`) imports; `from a import b` gives both a and
    a.b (b may be a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
