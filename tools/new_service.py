"""Create services/<name> from templates/service: ./pants run tools:new-service -- <name>.

Renders the copier template (a BUILD with the visibility rules and its service_artifact, code
with tests beside it, a README), then registers the new package where the repo lists its units:
ruff's first-party packages (ruff.toml) and an owner in CODEOWNERS. Run from the repo root
(`./pants run` does so).
"""

from __future__ import annotations

import argparse
import ast
import keyword
import re
import shutil
import sys
from pathlib import Path

from copier import run_copy

from tools.artifacts import LOCKFILE, ArtifactError, locked_requirements, source_roots

NAME = re.compile(r"[a-z][a-z0-9_]*")
# Room for the directories the tool and Pants make of it (services/.<name>.rendering, ...) in a
# file name of at most 255 bytes, with a margin for readers.
MAX_NAME_LENGTH = 64
# A CODEOWNERS owner: @user, @org/team or an e-mail address.
OWNER = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9_.-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+")
TEMPLATE = Path("templates/service")
# The services' requirements; their `reqs` target maps the modules named otherwise.
REQUIREMENTS_BUILD = Path("3rdparty/python/BUILD")


def third_party_modules(root: Path) -> dict[str, str]:
    """Each top-level module of a distribution the services' lockfile holds, to its project, as
    Pants maps them: a module REQUIREMENTS_BUILD names (pyyaml's yaml), else the project's name in
    lower case with `-` and `.` made `_`."""
    modules = {
        re.sub(r"[-.]", "_", locked["project_name"].lower()): locked["project_name"]
        for locked in locked_requirements(root / LOCKFILE)
    }
    for project, names in _module_mapping(root / REQUIREMENTS_BUILD).items():
        modules.update({module.split(".")[0]: project for module in names})
    return modules


def _module_mapping(build: Path) -> dict[str, list[str]]:
    """The `module_mapping` of the `reqs` python_requirements in `build` (a literal there)."""
    for node in ast.walk(ast.parse(build.read_text(), str(build))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "python_requirements":
            arguments = {argument.arg: argument.value for argument in node.keywords}
            if "name" in arguments and ast.literal_eval(arguments["name"]) == "reqs":
                mapping = arguments.get("module_mapping")
                return ast.literal_eval(mapping) if mapping is not None else {}
    raise ValueError(f"{build} has no python_requirements named reqs")


def source_root_modules(root: Path) -> set[str]:
    """The top-level modules of every source root pants.toml names: its packages (directories
    holding Python files) and its modules (the root's conftest.py, the DAG files, ...)."""
    try:
        roots = source_roots(root)
    except ArtifactError as problem:
        raise ValueError(str(problem)) from None
    names: set[str] = set()
    for source_root in roots:
        for entry in source_root.iterdir():
            if entry.name.startswith("."):
                continue
            if entry.suffix == ".py":
                names.add(entry.stem)
            elif entry.is_dir() and next(entry.rglob("*.py"), None) is not None:
                names.add(entry.name)
    return names


def check_name(name: str, taken: set[str], third_party: dict[str, str]) -> None:
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a lowercase Python identifier (a-z, digits, _)")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{name[:20]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if keyword.iskeyword(name):
        raise ValueError(f"{name!r} is a Python keyword: no package can be imported by that name")
    if name in sys.stdlib_module_names:
        raise ValueError(
            f"{name!r} is a module of Python's standard library: the service's package would "
            "hide it from every module of the service"
        )
    if name in third_party:
        raise ValueError(
            f"{name!r} is the module of {third_party[name]}, which the services' lockfile holds: "
            "the service's package would hide it from every module of the service"
        )
    if name in taken:
        raise ValueError(
            f"{name!r} is already a package of the repo (a service, a lib, a module of a source "
            "root, or in ruff.toml's known-first-party)"
        )


def check_description(description: str) -> None:
    if not description.strip():
        raise ValueError("--description is empty: say in one line what the service does")
    if not description.isprintable():
        raise ValueError(f"--description {description!r} is not one line of printable text")


def check_owners(owners: str) -> None:
    each = owners.split()
    if not each or not all(OWNER.fullmatch(owner) for owner in each):
        raise ValueError(
            f"--owner {owners!r} is not CODEOWNERS owners: @user, @org/team or an e-mail "
            "address, separated by spaces"
        )


def _first_party_list(ruff_toml: str) -> re.Match[str]:
    match = re.search(r"known-first-party = \[(.*?)\n\]", ruff_toml, flags=re.DOTALL)
    if match is None:
        raise ValueError("ruff.toml has no multi-line known-first-party list")
    return match


def first_party(ruff_toml: str) -> set[str]:
    """The packages ruff.toml's [lint.isort] known-first-party names: every top-level package of
    the repo (tests, tools, iac, ...), not only the services and libs."""
    return set(re.findall(r'"([^"]+)"', _first_party_list(ruff_toml).group(1)))


def with_first_party(ruff_toml: str, name: str) -> str:
    """ruff.toml with `name` appended to known-first-party, so imports of it sort as the repo's
    own."""
    end = _first_party_list(ruff_toml).end(1)
    return f'{ruff_toml[:end]}\n  "{name}",{ruff_toml[end:]}'


def catch_all_owners(codeowners: str) -> str:
    """The owners of CODEOWNERS' catch-all `*` line, the last one if several."""
    owners = ""
    for line in codeowners.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "*":
            owners = " ".join(fields[1:])
    if not owners:
        raise ValueError(
            "CODEOWNERS has no catch-all `*` line to take the owner from: give --owner"
        )
    return owners


def with_owner(codeowners: str, name: str, owners: str) -> str:
    """CODEOWNERS with a line for services/<name>/ after the last service's line."""
    lines = codeowners.splitlines()
    service_lines = [i for i, line in enumerate(lines) if line.startswith("/services/")]
    at = service_lines[-1] + 1 if service_lines else len(lines)
    lines.insert(at, f"{f'/services/{name}/':<31}{owners}")
    return "\n".join(lines) + "\n"


def create(root: Path, name: str, description: str, owner: str | None) -> Path:
    """Renders services/<name> and registers it, owned by `owner` (by default the owners of
    CODEOWNERS' catch-all line); checks everything first, so a refused or failed run changes
    nothing."""
    services, ruff_toml, codeowners = root / "services", root / "ruff.toml", root / "CODEOWNERS"
    ruff_text = ruff_toml.read_text()
    # The libs' packages are their source roots' modules; a service's directory is taken even
    # before it holds a module.
    taken = (
        {p.name for p in services.iterdir()} | first_party(ruff_text) | source_root_modules(root)
    )
    check_name(name, taken, third_party_modules(root))
    check_description(description)
    codeowners_text = codeowners.read_text()
    owner = catch_all_owners(codeowners_text) if owner is None else owner
    check_owners(owner)
    registered = {
        ruff_toml: with_first_party(ruff_text, name),
        codeowners: with_owner(codeowners_text, name, owner),
    }
    # Rendered beside its place and moved there whole, so a failed render leaves no half service.
    staging = services / f".{name}.rendering"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        run_copy(
            str(root / TEMPLATE),
            str(staging),
            data={"name": name, "description": description},
            defaults=True,
            quiet=True,
        )
        staging.rename(services / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for path, text in registered.items():
        path.write_text(text)
    return services / name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="new-service", description=__doc__)
    parser.add_argument("name", help="the service's name and Python package, e.g. monitor")
    parser.add_argument("--description", default="A new service of the platform.")
    parser.add_argument(
        "--owner", help="its CODEOWNERS owners (default: those of the catch-all `*` line)"
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repo root")
    args = parser.parse_args(argv)
    if not (args.root / TEMPLATE / "copier.yml").is_file():
        parser.error(f"{args.root} is not the repo root (no {TEMPLATE}/copier.yml)")
    try:
        destination = create(args.root, args.name, args.description, args.owner)
    except ValueError as error:
        print(f"new-service: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # no right to write services/, say; the render changed nothing
        print(f"new-service: cannot create services/{args.name}: {error}", file=sys.stderr)
        return 1
    print(f"Created {destination.relative_to(args.root)}. Next:")
    print(f"  ./pants test services/{args.name}::")
    print(f"  ./pants run services/{args.name}:{args.name} -- --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
