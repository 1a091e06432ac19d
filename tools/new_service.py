"""Create services/<name> from templates/service: ./pants run tools:new-service -- <name>.

Renders the copier template (a BUILD with the visibility rules and its service_artifact, code
with tests beside it, a README), then registers the new package where the repo lists its units:
ruff's first-party packages (ruff.toml) and an owner in CODEOWNERS. Run from the repo root
(`./pants run` does so).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

from copier import run_copy

from tools.service_template import (
    check_description,
    check_name,
    first_party,
    source_root_modules,
    template_data,
    third_party_modules,
    with_first_party,
)

# A CODEOWNERS owner: @user, @org/team or an e-mail address.
OWNER = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9_.-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+")
TEMPLATE = Path("templates/service")


def check_owners(owners: str) -> None:
    each = owners.split()
    if not each or not all(OWNER.fullmatch(owner) for owner in each):
        raise ValueError(
            f"--owner {owners!r} is not CODEOWNERS owners: @user, @org/team or an e-mail "
            "address, separated by spaces"
        )


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
            data=template_data(name, description),
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
