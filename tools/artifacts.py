"""The services' built artifacts, as dvc.yaml's stages run them: checked before a stage runs.

A stage runs its service's PEX from dist/ (`./pants package` builds them; the main job does so
first). DVC sees only the PEX's hash, so a PEX built before the code changed would silently be
taken as up to date. The check, which the repo's DVC (tools/dvc_cli.py) runs before every
`dvc repro`, `dvc exp run` and `dvc stage add --run`, and `python3.11 tools/artifacts.py
check` by hand, fails with the `./pants package` command to run when a PEX a stage runs is
missing, carries a first-party file that differs from the checkout's, carries a distribution
that 3rdparty/python/default.lock no longer locks, or lacks part of itself (an interrupted build):
its `__main__.py` or bootstrap, a wheel its PEX-INFO lists, or a checkout module its entry point
or its code imports.

`python3.11 tools/artifacts.py place --built DIR` puts the artifacts a Pants run built where
dvc.yaml runs them (the main job, //:main, does this instead of a nested `./pants package`).

`./pants run //:dvc -- status --json | python3 tools/artifacts.py locked` fails when dvc.lock
does not record the artifacts in dist/ as they are: a service's code committed without the lock
its pipeline run wrote (.ci/run runs it after `./pants package ::`, the pull-request workflow
after packaging what the change reaches).

Standard library only: it runs before any PEX, with Python 3.11 or later (it reads pants.toml with
tomllib): //:main runs it with `python3.11`, which the stages' PEXes run with too; the workflows'
`python3` is their 3.11. An older Python stops it with one line saying so.
"""

from __future__ import annotations

import argparse
import ast
import filecmp
import json
import re
import shutil
import sys
import zipfile

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: a line saying which Python, not a traceback
    sys.exit(
        f"artifacts: tools/artifacts.py needs Python 3.11 or later (it reads pants.toml with "
        f"tomllib), not {sys.version.split()[0]}: run it with python3.11"
    )
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LOCKFILE = "3rdparty/python/default.lock"
# What pex itself writes into a packed PEX, beside the first-party code.
PEX_OWN = {"__main__.py", "PEX-INFO", "__pex__", ".bootstrap", ".deps"}


class ArtifactError(Exception):
    """An artifact is missing or stale; the message says which and what to run."""


@dataclass(frozen=True)
class Artifact:
    path: PurePosixPath  # relative to the repo, e.g. dist/services.train/train.pex

    @property
    def address(self) -> str:
        """The Pants target that builds it (dist/services.train/train.pex: services/train:train)."""
        return f"{self.path.parent.name.replace('.', '/')}:{self.path.stem}"

    @property
    def package_command(self) -> str:
        return f"./pants package {self.address}"


def pipeline_artifacts(repo: Path) -> list[Artifact]:
    """The artifacts the stages of `repo`'s dvc.yaml run."""
    try:
        text = (repo / "dvc.yaml").read_text()
    except OSError as error:
        raise ArtifactError(f"cannot read {repo / 'dvc.yaml'} ({error.strerror})") from None
    return artifacts_in(text)


# A PEX under dist/ as dvc.yaml names one: however YAML lists it (quoted, with a comment after
# it, in a flow sequence), not a file within it (the commands' `<pex>/__main__.py`).
PEX_PATH = re.compile(r"(?<![\w./-])dist/[\w./-]+?\.pex(?![\w./-])")


def artifacts_in(dvc_yaml: str) -> list[Artifact]:
    """The PEXes dvc.yaml's stages depend on, in order of first use; comments left out."""
    found: dict[str, Artifact] = {}
    for line in dvc_yaml.splitlines():
        for dep in PEX_PATH.findall(re.sub(r"(^|\s)#.*", "", line)):
            found.setdefault(dep, Artifact(PurePosixPath(dep)))
    return list(found.values())


def source_roots(repo: Path) -> list[Path]:
    """The directories pants.toml's source root patterns name (`/services/*`, `/`, ...)."""
    try:
        patterns = tomllib.loads((repo / "pants.toml").read_text())["source"]["root_patterns"]
    except OSError as error:
        raise ArtifactError(f"cannot read {repo / 'pants.toml'} ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise ArtifactError(
            f"cannot read the source roots of {repo / 'pants.toml'} ({error!r})"
        ) from None
    roots: list[Path] = []
    for pattern in patterns:
        relative = pattern.strip("/")
        roots.extend(sorted(repo.glob(relative)) if relative else [repo])
    return [root for root in roots if root.is_dir()]


def first_party_files(pex: Path) -> Iterator[PurePosixPath]:
    for path in sorted(pex.rglob("*")):
        relative = PurePosixPath(path.relative_to(pex).as_posix())
        if path.is_file() and relative.parts[0] not in PEX_OWN:
            yield relative


def checkout_file(roots: list[Path], relative: PurePosixPath) -> Path | None:
    """The checkout's file that a PEX's `relative` (source roots stripped) was built from."""
    for root in roots:
        if (root / relative).is_file():
            return root / relative
    return None


def locked_requirements(lockfile: Path) -> list[dict[str, Any]]:
    """Every requirement a Pants lockfile locks (a JSON document after `//` header lines)."""
    text = lockfile.read_text()
    lock = json.loads("\n".join(line for line in text.splitlines() if not line.startswith("//")))
    return [r for resolve in lock["locked_resolves"] for r in resolve["locked_requirements"]]


def locked_distributions(repo: Path) -> set[str]:
    """`name==version` of every distribution the lockfile locks, names normalised."""
    try:
        return {
            f"{normalise(requirement['project_name'])}=={requirement['version']}"
            for requirement in locked_requirements(repo / LOCKFILE)
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ArtifactError(
            f"cannot read what {LOCKFILE} locks ({type(error).__name__}: {error})"
        ) from None


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pex_info(pex: Path) -> dict[str, Any]:
    """The PEX's PEX-INFO; ValueError when it does not list its distributions as pex does."""
    info = json.loads((pex / "PEX-INFO").read_text())
    if not isinstance(info, dict) or not isinstance(info.get("distributions"), dict):
        raise ValueError("it lists no distributions")
    return info


def carried_distributions(info: dict[str, Any]) -> list[str]:
    """`name==version` of every distribution PEX-INFO lists, from its wheel file names."""
    carried = []
    for wheel in info["distributions"]:
        name, version, *_ = wheel.split("-")
        carried.append(f"{normalise(name)}=={version}")
    return carried


def missing_parts(pex: Path, info: dict[str, Any]) -> Iterator[str]:
    """What pex writes into a packed PEX that is not there (an interrupted build, a file
    deleted since): the entry point, the bootstrap, each wheel PEX-INFO lists under .deps/."""
    for own in ("__main__.py", ".bootstrap"):
        if not (pex / own).exists():
            yield own
    for wheel in info["distributions"]:
        if not (pex / ".deps" / wheel).exists():
            yield f".deps/{wheel}, which its PEX-INFO lists"


def module_files(module: str) -> list[PurePosixPath]:
    """Where a module's code would be, relative to a source root (or to the PEX)."""
    path = PurePosixPath(*module.split("."))
    return [path.with_name(path.name + ".py"), path / "__init__.py"]


def imported_modules(file: PurePosixPath, source: bytes) -> Iterator[str]:
    """The modules a first-party file imports, absolute ("from . import x" in storage/y.py gives
    storage and storage.x); a file that does not parse imports nothing we can tell."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    package = list(file.parent.parts)
    for node in statements(tree.body):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level > len(package):
                    continue  # above the source root: not an import that works
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module:
                yield module
            yield from (f"{module}.{alias.name}".strip(".") for alias in node.names)


def statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement in `body`, nested ones too (an import in a function, an `if`, a `try`);
    expressions hold no import statement, and walking them costs most of the check's time."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            nested = getattr(node, field, None)
            if isinstance(nested, list):
                for child in nested:
                    if isinstance(child, ast.stmt):
                        yield from statements([child])
                    else:  # an except handler or a match case
                        yield from statements(getattr(child, "body", []))


def missing_first_party(
    pex: Path, info: dict[str, Any], roots: list[Path], carried: list[PurePosixPath]
) -> Iterator[str]:
    """The first-party files the PEX's code needs that it does not carry: the entry point's
    module and every checkout module its carried files import (what Pants packs with them)."""
    # The checkout's top-level packages and modules, listed once: most imports are third-party
    # (numpy, pandas) and are passed over by name, not looked up in every source root.
    first_party = {
        entry.name.removesuffix(".py")
        for root in roots
        if root.is_dir()
        for entry in root.iterdir()
    }
    needed: dict[PurePosixPath, str] = {}
    entry_point = info.get("entry_point")
    if isinstance(entry_point, str) and entry_point.split(":")[0]:
        for file in module_files(entry_point.split(":")[0]):
            needed.setdefault(file, "its PEX-INFO's entry point")
    for relative in carried:
        if relative.suffix == ".py":
            for module in imported_modules(relative, (pex / relative).read_bytes()):
                if module.split(".")[0] in first_party:
                    for file in module_files(module):
                        needed.setdefault(file, f"{relative} imports it")
    has = set(carried)
    # Where each of the checkout's packages is.
    packages: dict[PurePosixPath, list[Path]] = {}
    for file, why in needed.items():
        if file in has:
            continue
        if file.parent not in packages:
            packages[file.parent] = [root for root in roots if (root / file.parent).is_dir()]
        source = checkout_file(packages[file.parent], file)
        if source is None:
            continue
        if file.name == "__init__.py" and not source.read_bytes().strip():
            continue  # an empty package marker: Pants may leave it out
        yield f"{file} ({why})"


def check(repo: Path, artifact: Artifact, roots: list[Path], locked: set[str]) -> None:
    pex = repo / artifact.path
    if not (pex / "PEX-INFO").is_file():
        what = "is not a packed PEX: it has no PEX-INFO" if pex.exists() else "is missing"
        raise ArtifactError(
            f"{artifact.path} {what} (a stage runs it): run `{artifact.package_command}`"
        )
    try:
        info = pex_info(pex)
        carried = carried_distributions(info)
        lacking = next(missing_parts(pex, info), None)
    except (OSError, ValueError) as error:
        raise ArtifactError(
            f"{artifact.path} is damaged: its PEX-INFO cannot be read ({error}): "
            f"run `{artifact.package_command}`"
        ) from None
    if lacking is not None:
        raise ArtifactError(
            f"{artifact.path} is incomplete: it lacks {lacking} (an interrupted build?): "
            f"run `{artifact.package_command}`"
        )
    carried_files = list(first_party_files(pex))
    for relative in carried_files:
        source = checkout_file(roots, relative)
        if source is None:
            raise ArtifactError(
                f"{artifact.path} is stale: it carries {relative}, which the checkout no longer "
                f"has: run `{artifact.package_command}`"
            )
        if source.read_bytes() != (pex / relative).read_bytes():
            raise ArtifactError(
                f"{artifact.path} is stale: {source.relative_to(repo)} changed since it was "
                f"built: run `{artifact.package_command}`"
            )
    try:
        lacking = next(missing_first_party(pex, info, roots, carried_files), None)
    except (OSError, ValueError):  # a module name no file can have: not ours
        lacking = None
    if lacking is not None:
        raise ArtifactError(
            f"{artifact.path} is stale: it lacks {lacking}: run `{artifact.package_command}`"
        )
    for distribution in carried:
        if distribution not in locked:
            raise ArtifactError(
                f"{artifact.path} is stale: it carries {distribution}, which {LOCKFILE} no "
                f"longer locks: run `{artifact.package_command}`"
            )


def check_all(repo: Path) -> list[Artifact]:
    """Check every artifact dvc.yaml runs; raise ArtifactError naming each bad one."""
    artifacts = pipeline_artifacts(repo)
    roots, locked = source_roots(repo), locked_distributions(repo)
    problems = []
    for artifact in artifacts:
        try:
            check(repo, artifact, roots, locked)
        except ArtifactError as problem:
            problems.append(str(problem))
    if problems:
        addresses = " ".join(artifact.address for artifact in artifacts)
        raise ArtifactError(
            "\n".join(problems) + f"\nTo rebuild them all: ./pants package {addresses}"
        )
    return artifacts


def place(
    repo: Path, built: Path, warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
) -> list[Artifact]:
    """Put the artifacts a Pants run built under `built` where dvc.yaml runs them (dist/, as
    `./pants package` would). One whose PEX-INFO (its code and distribution hashes) is
    unchanged is left alone, so DVC need not hash it again; others are replaced whole. A PEX
    replaced is removed, also one an earlier run could not remove (`<name>.pex.old`, which
    nothing runs: dvc.yaml and the check name the PEX itself), `warn` told; one that cannot be
    removed is left and `warn` told, once the new one is in place. A copy an interrupted run left
    (`<name>.pex.partial`) is removed first, and `warn` told."""
    artifacts = pipeline_artifacts(repo)
    if not built.is_dir():
        raise ArtifactError(f"--built {built} is not a directory: give where the run built them")
    for artifact in artifacts:
        source = built / artifact.path.relative_to("dist")
        if not (source / "PEX-INFO").is_file():
            raise ArtifactError(
                f"this run did not build {artifact.address}, which dvc.yaml runs: add it to "
                "PIPELINE_ARTIFACTS (pants-plugins/macros.py)"
            )
        target = repo / artifact.path
        staging = target.with_name(target.name + ".partial")
        if staging.exists() or staging.is_symlink():
            try:
                remove(staging)
            except OSError as error:
                raise ArtifactError(
                    f"cannot place {artifact.address} in {artifact.path}: cannot remove "
                    f"{artifact.path}.partial, a copy an interrupted run left "
                    f"({error.strerror or error}); what of it could not be removed is left there"
                ) from None
            warn(
                f"artifacts: removed {artifact.path}.partial, a copy of {artifact.address} left "
                "by an interrupted run; nothing ran it"
            )
        earlier_left_over(repo, artifact, warn)
        if (target / "PEX-INFO").is_file() and filecmp.cmp(
            source / "PEX-INFO", target / "PEX-INFO", shallow=False
        ):
            left_over(repo, artifact, warn, replaced=False)
            warn_of_bytecode(artifact, target, warn)
            continue
        try:
            shutil.copytree(source, staging, symlinks=True)
        except OSError as error:  # a full disk, say: hundreds of MB per artifact
            shutil.rmtree(staging, ignore_errors=True)
            raise ArtifactError(
                f"cannot place {artifact.address} in {target.relative_to(repo)}: "
                f"{copy_failure(error)}; it is left as it was"
            ) from None
        try:
            swap(staging, target)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise ArtifactError(
                f"cannot place {artifact.address} in {target.relative_to(repo)}: cannot replace "
                f"{error.filename or target}: {error.strerror or error}"
            ) from None
        left_over(repo, artifact, warn, replaced=True)
        warn_of_bytecode(artifact, target, warn)
    return artifacts


def warn_of_bytecode(artifact: Artifact, pex: Path, warn: Callable[[str], None]) -> None:
    """`warn` naming the wheels of the placed `pex` that carry bytecode (bytecode_carried). The
    PEX left in place when its PEX-INFO is unchanged is checked too: PEX-INFO does not tell."""
    carried = bytecode_carried(pex)
    if carried:
        warn(f"artifacts: warning: {artifact.address} {carrying_bytecode(carried)}")


def carrying_bytecode(wheels: list[str]) -> str:
    """What it means that a PEX's `wheels` carry bytecode, and the way out."""
    return (
        f"carries Python bytecode in {', '.join(wheels)}: pex zipped those wheels from its "
        "cache after a test's venv wrote their __pycache__, so this PEX, and a dvc.lock written "
        "with it, differ from a clean machine's build (ADR 0011 says how to rebuild clean)"
    )


def bytecode_carried(pex: Path) -> list[str]:
    """The wheels in a packed PEX's .deps/ that carry `__pycache__`: pex 2.1.137 zips a wheel's
    installed copy in its cache as it finds it, and a Pants test's venv links those copies and
    writes bytecode beside their modules, so the zip, made once, depends on what ran first."""
    deps = pex / ".deps"
    if not deps.is_dir():
        return []
    carried = []
    for wheel in sorted(deps.iterdir()):
        try:
            with zipfile.ZipFile(wheel) as packed:
                if any("__pycache__/" in name for name in packed.namelist()):
                    carried.append(wheel.name)
        except (OSError, zipfile.BadZipFile):
            continue  # not a wheel pex wrote; the check names a PEX that lacks one
    return carried


def aside(target: Path) -> Path:
    """Where `swap` moves the PEX it replaces, until it is removed."""
    return target.with_name(target.name + ".old")


def swap(staging: Path, target: Path) -> None:
    """Put `staging` at `target`, which may be a packed PEX (a directory), a zipapp PEX (a file)
    or nothing. The old one is moved aside first, so a failure to move it leaves it in place;
    removing it is the caller's (`left_over`)."""
    old = aside(target)
    remove(old)  # an earlier run's, if it stopped between the moves
    if target.exists() or target.is_symlink():
        target.rename(old)
    staging.rename(target)


def earlier_left_over(repo: Path, artifact: Artifact, warn: Callable[[str], None]) -> None:
    """Remove the PEX an earlier run replaced and left (`<name>.pex.old`), `warn` naming it. One
    that cannot be removed is left for what follows to name: `swap`, which needs its name, or
    `left_over`."""
    old = aside(repo / artifact.path)
    if not (old.exists() or old.is_symlink()):
        return
    try:
        remove(old)
    except OSError:
        return
    warn(
        f"artifacts: removed {artifact.path}.old, a PEX of {artifact.address} an earlier run "
        "replaced and left; nothing ran it"
    )


def left_over(
    repo: Path, artifact: Artifact, warn: Callable[[str], None], *, replaced: bool
) -> None:
    """Remove the PEX aside, if any: the one this place `replaced`, or, when the PEX was
    unchanged, one an earlier run left; `warn` naming it and why if it cannot be: the artifact
    is placed, so the run goes on, and the next place tries again."""
    old = aside(repo / artifact.path)
    try:
        remove(old)
    except OSError as error:
        why = f"{artifact.path}.old ({error.strerror or error}): nothing runs it"
        warn(
            f"artifacts: placed {artifact.address} in {artifact.path}, but cannot remove the PEX "
            f"it replaced, {why}; the next place removes it"
            if replaced
            else f"artifacts: {artifact.address} in {artifact.path} is unchanged, but cannot "
            f"remove the PEX an earlier run replaced, {why}; the next place removes it"
        )


def remove(path: Path) -> None:
    """Remove the file or tree `path`, if there; an OSError names `path` (rmtree's own names a
    file within it relative to its directory: `cli.py`)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error


def copy_failure(error: OSError) -> str:
    """Why copytree failed: shutil.Error holds one (source, copy, why) per file it could not
    copy; name the first."""
    if not isinstance(error, shutil.Error):
        return str(error)
    failures = error.args[0]
    others = f" (and {len(failures) - 1} more files)" if len(failures) > 1 else ""
    return f"{failures[0][2]}{others}"


def unlocked(repo: Path, status: dict[str, Any]) -> list[str]:
    """What `dvc status --json` (`status`) says dvc.lock records wrongly about the artifacts
    dvc.yaml runs: one line per artifact, naming the stages that depend on it. DVC reports a
    dependency "modified" when its hash differs from the lock's, "new" when the lock has none.
    An artifact missing from dist/ ("deleted") is left out: this run did not build it (a pull
    request packages only what it changed), and a stage's run stops on it (`check`)."""
    artifacts = [str(artifact.path) for artifact in pipeline_artifacts(repo)]
    changes: dict[str, dict[str, list[str]]] = {}
    for stage, entries in status.items():
        for entry in entries:
            if not isinstance(entry, dict):  # "always changed", "changed command"
                continue
            for path, change in entry.get("changed deps", {}).items():
                if path in artifacts and change != "deleted":
                    changes.setdefault(path, {}).setdefault(change, []).append(stage)
    return [
        f"dvc.lock does not record {path} as this checkout builds it ({change} for stage"
        f"{'s' if len(stages) > 1 else ''} {', '.join(stages)}): {lock_advice(repo / path)}"
        for path in artifacts
        for change, stages in changes.get(path, {}).items()
    ]


def lock_advice(pex: Path) -> str:
    """What to do about the stale lock of `pex`: a PEX carrying bytecode differs from every
    other machine's build, so the dvc.lock it would write is wrong too."""
    carried = bytecode_carried(pex)
    if carried:
        return f"it {carrying_bytecode(carried)}; do not commit a dvc.lock written with it"
    return "run the pipeline (`./pants run //:main`) and commit the dvc.lock it writes"


def status_problem(status: object) -> str | None:
    """How `status` differs from what `dvc status --json` prints (stage name to a list of
    changes, each a word or an object whose "changed deps" map paths to a word), or None."""
    if not isinstance(status, dict):
        return f"a JSON {type(status).__name__}"
    for stage, entries in status.items():
        if not isinstance(entries, list):
            return f"stage {stage!r} with a JSON {type(entries).__name__}, not a list"
        for entry in entries:
            if isinstance(entry, str):  # "always changed", "changed command"
                continue
            changed = entry.get("changed deps", {}) if isinstance(entry, dict) else None
            if not isinstance(changed, dict) or not all(
                isinstance(c, str) for c in changed.values()
            ):
                return f"stage {stage!r} with the change {json.dumps(entry)[:80]}"
    return None


def report_unlocked(repo: Path, status_json: str) -> int:
    problem: str | None
    try:
        status = json.loads(status_json)
    except json.JSONDecodeError as error:
        status, problem = None, f"not JSON ({error})"
    else:
        problem = status_problem(status)
    if problem is not None:
        print(f"artifacts: expected `dvc status --json` on stdin, got {problem}", file=sys.stderr)
        return 2
    problems = unlocked(repo, status)
    for line in problems:
        print(f"artifacts: {line}", file=sys.stderr)
    if not problems:
        print("artifacts: dvc.lock records the artifacts in dist/ as this checkout builds them")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["check", "place", "locked"])
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--built", type=Path, help="place: where a Pants run built them")
    args = parser.parse_args(argv)
    try:
        if args.command == "locked":
            return report_unlocked(args.repo, sys.stdin.read())
        if args.command == "place":
            if args.built is None:
                parser.error("place needs --built")
            placed = place(args.repo, args.built)
            print(f"artifacts: {len(placed)} in dist/ ({', '.join(a.address for a in placed)})")
            return 0
        checked = check_all(args.repo)
    except ArtifactError as problem:
        print(f"artifacts: {problem}", file=sys.stderr)
        return 1
    print(up_to_date(checked))
    return 0


def up_to_date(checked: list[Artifact]) -> str:
    return f"artifacts: {len(checked)} up to date ({', '.join(a.address for a in checked)})"


if __name__ == "__main__":
    sys.exit(main())
