"""Builds the serve service's Bento (`bentoml build`) into BentoML's home under build/.

The service imports libs/ that live outside services/serve, so the build context is assembled
in a temporary directory: the first-party packages the service imports, as this process loaded
them, and bentofile.yaml with the Python packages it needs pinned to the versions installed here
(the lockfile's), their dependencies too, so that the image installs what the artifact runs.
Prints the Bento's tag.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from importlib.metadata import Distribution, distributions
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement  # pants: no-infer-dep (bentoml's)
from packaging.utils import canonicalize_name  # pants: no-infer-dep

from model_registry.errors import RegistryError
from model_registry.store import store_home
from serve.settings import (
    VERSION,
    VERSION_MAX_LENGTH,
    ModelTagError,
    NoPromotedModel,
    use_model_store,
)
from storage.atomic import OutputWriteError, naming_no_room

PACKAGES = (
    "serve",
    "feature_definitions",
    "online_store",
    "model_registry",
    "contracts",
    "storage",
)
# Distributions the service needs at run time: every one its code imports (tests/serving/
# bento_test.py checks the built Bento's) and those loaded by name. The Bento pins them and all
# they require to the versions installed here.
REQUIREMENTS = (
    "bentoml",
    "pandas",
    "numpy",
    "pyarrow",
    "scikit-learn",
    # scikit-learn's; serve.loading limits OpenMP's threads through it.
    "threadpoolctl",
    # The predictor scores boosted trees with treelite, else with scikit-learn (slower).
    "treelite",
    "joblib",
    "torch",
    "pandera",
    "fsspec",
    # fsspec's s3:// filesystem: on AWS the serving data is read from the artifacts bucket.
    "s3fs",
    "pydantic",
    "PyYAML",
    "prometheus-client",
)
# services/serve/bentofile.yaml; in the PEX, a resource beside the serve package.
BENTOFILE = Path(__file__).resolve().parent.parent / "bentofile.yaml"
# torch's CPU build (torch==X+cpu) is served by PyTorch's index, not PyPI.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


class MissingDistribution(Exception):
    """A distribution the service needs is not installed where the Bento is built."""


class BentoExists(Exception):
    """The Bento the build would save is in the store already (BentoML never replaces one)."""


def pinned_closure(roots: Iterable[str], path: Sequence[str] | None = None) -> list[str]:
    """`name==version` of each distribution in `roots` and of every one they require, directly
    or not, as installed on `path` (default: sys.path), sorted by name. A requirement counts
    when its marker holds for this interpreter and the extras asked for it; a counted one that
    is not installed raises MissingDistribution, naming who requires it."""
    pins: dict[str, str] = {}
    done: set[tuple[str, str]] = set()  # (distribution, extra) whose requirements are followed
    pending = [(Requirement(root), "the service") for root in roots]
    while pending:
        requirement, required_by = pending.pop()
        name = canonicalize_name(requirement.name)
        found = installed(requirement.name, path)
        if found is None:
            raise MissingDistribution(
                f"{required_by} requires {requirement.name}, which is not installed here"
            )
        pins[name] = f"{found.metadata['Name']}=={found.version}"
        for extra in ("", *sorted(requirement.extras)):
            if (name, extra) in done:
                continue
            done.add((name, extra))
            for line in found.requires or ():
                needed = Requirement(line)
                if needed.marker is None or needed.marker.evaluate({"extra": extra}):
                    pending.append((needed, f"{found.metadata['Name']} {found.version}"))
    return [pins[name] for name in sorted(pins)]


def installed(name: str, path: Sequence[str] | None) -> Distribution | None:
    """The first distribution called `name` on `path`, as the import system would find it."""
    return next(iter(distributions(name=name, path=list(sys.path if path is None else path))), None)


def bento_options() -> dict[str, Any]:
    options: dict[str, Any] = yaml.safe_load(BENTOFILE.read_text())
    python = options.setdefault("python", {})
    python["packages"] = pinned_closure(REQUIREMENTS)
    python["extra_index_url"] = [TORCH_CPU_INDEX]
    # The image's Python is the one the pins above were resolved for: this interpreter's.
    docker = options.setdefault("docker", {})
    docker["python_version"] = f"{sys.version_info.major}.{sys.version_info.minor}"
    return options


def assemble(context: Path) -> None:
    """Copy each first-party package, sources only, into `context`: file by file, so that a
    failed copy raises its own error (copytree gathers them into one, without their errno)."""
    for name in PACKAGES:
        module = importlib.import_module(name)
        source = Path(next(iter(module.__path__)))
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            generated = "__pycache__" in relative.parts or path.suffix == ".pyc"
            if path.is_file() and not generated and path.name != "BUILD":
                copy = context / name / relative
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)


def build(version_label: str | None = None) -> str:
    use_model_store()
    import bentoml

    options = bento_options()
    if version_label is not None:
        refuse_existing(f"{options['name']}:{version_label}")
    # The build context is made in the store, so that everything the build writes is on the
    # store's filesystem: BentoML builds in its home's tmp and moves the Bento into `bentos` whole.
    home = store_home()
    home.mkdir(parents=True, exist_ok=True)
    # BentoML changes into the build context and, when importing the service fails, stays there.
    with (
        contextlib.chdir(Path.cwd()),
        naming_no_room(home / "bentos"),
        tempfile.TemporaryDirectory(prefix=".bento-context-", dir=home) as directory,
    ):
        context = Path(directory)
        assemble(context)
        bentofile = context / "bentofile.yaml"
        bentofile.write_text(yaml.safe_dump(options, sort_keys=False))
        # BentoML looks uv up on every build and pip-installs it from PyPI when it is missing;
        # the serve artifact carries it (services/serve/serve/BUILD), though this bentofile never
        # locks.
        bento = bentoml.bentos.build_bentofile(
            str(bentofile), build_ctx=str(context), version=version_label
        )
    return str(bento.tag)


def refuse_existing(tag: str) -> None:
    """BentoExists if the store holds the Bento `tag`: BentoML would build it, then refuse to
    save it in a traceback."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        existing = bentoml.bentos.get(tag)
    except NotFound:
        return
    raise BentoExists(
        f"--version: the Bento {existing.tag} exists already in {existing.path}; choose another "
        f"version, or delete it first (`bentoml delete {existing.tag}`)"
    )


def bento_version(text: str) -> str:
    """`--version`: one BentoML takes as it is (it would lowercase one, refuse others late)."""
    if len(text) > VERSION_MAX_LENGTH or not VERSION.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Bento version: at most {VERSION_MAX_LENGTH} lowercase letters, "
            "digits, '_', '.' and '-', starting and ending with a letter or digit"
        )
    return text


def exit_status(text: str) -> int:
    """`--no-model-status`: a status a process can exit with (the shell would wrap 256 to 0)."""
    if not (re.fullmatch("[0-9]+", text) and int(text) <= 255):
        raise argparse.ArgumentTypeError(f"{text!r} is not an exit status (0 to 255)")
    return int(text)


def main(argv: list[str] | None = None, prog: str = "serve-bento") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument(
        "--version", type=bento_version, help="the Bento's version (default: generated)"
    )
    parser.add_argument(
        "--no-model-status",
        type=exit_status,
        default=1,
        metavar="STATUS",
        help="exit status when the store holds no promoted model: nothing to serve yet, which "
        "the caller may not count as a failure (the main job passes 0, the DAG its skip status)",
    )
    args = parser.parse_args(argv)
    try:
        tag = build(args.version)
    except NoPromotedModel as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return int(args.no_model_status)
    except (
        ModelTagError,
        RegistryError,
        MissingDistribution,
        BentoExists,
        OutputWriteError,
    ) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    print(tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
