"""Create services/<name> from templates/service: ./pants run tools:new-service -- <name>.

Renders the copier template (a BUILD with the visibility rules and a pex_binary, code with tests
beside it, a README), then registers the new package where the repo lists its units: ruff's
first-party packages (ruff.toml) and an owner in CODEOWNERS. Run from the repo root (`./pants run`
does so).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from copier import run_copy

NAME = re.compile(r"[a-z][a-z0-9_]*")
TEMPLATE = Path("templates/service")


def add_first_party(ruff_toml: Path, name: str) -> None:
    """Append `name` to [lint.isort] known-first-party, so imports of it sort as the repo's own."""
    text = ruff_toml.read_text()
    match = re.search(r"known-first-party = \[(.*?)\n\]", text, flags=re.DOTALL)
    if match is None:
        raise ValueError(f"{ruff_toml} has no multi-line known-first-party list")
    if f'"{name}"' in match.group(1):
        return
    end = match.end(1)
    ruff_toml.write_text(f'{text[:end]}\n  "{name}",{text[end:]}')


def add_owner(codeowners: Path, name: str, owner: str) -> None:
    """Give services/<name>/ an owner line after the last service's line."""
    lines = codeowners.read_text().splitlines()
    service_lines = [i for i, line in enumerate(lines) if line.startswith("/services/")]
    at = service_lines[-1] + 1 if service_lines else len(lines)
    lines.insert(at, f"{f'/services/{name}/':<31}{owner}")
    codeowners.write_text("\n".join(lines) + "\n")


def create(root: Path, name: str, description: str, owner: str) -> Path:
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a lowercase Python identifier (a-z, digits, _)")
    destination = root / "services" / name
    taken = {p.name for p in (root / "services").iterdir()} | {
        package.name for package in (root / "libs").glob("*/*") if package.is_dir()
    }
    if name in taken:
        raise ValueError(f"{name!r} is already a service or a lib package")
    run_copy(
        str(root / TEMPLATE),
        str(destination),
        data={"name": name, "description": description},
        defaults=True,
        quiet=True,
    )
    add_first_party(root / "ruff.toml", name)
    add_owner(root / "CODEOWNERS", name, owner)
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="new-service", description=__doc__)
    parser.add_argument("name", help="the service's name and Python package, e.g. monitor")
    parser.add_argument("--description", default="A new service of the platform.")
    parser.add_argument("--owner", default="@platform-team", help="its CODEOWNERS team")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repo root")
    args = parser.parse_args(argv)
    if not (args.root / TEMPLATE / "copier.yml").is_file():
        parser.error(f"{args.root} is not the repo root (no {TEMPLATE}/copier.yml)")
    try:
        destination = create(args.root, args.name, args.description, args.owner)
    except ValueError as error:
        print(f"new-service: {error}", file=sys.stderr)
        return 1
    print(f"Created {destination.relative_to(args.root)}. Next:")
    print(f"  ./pants test services/{args.name}::")
    print(f"  ./pants run services/{args.name}:{args.name} -- --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
