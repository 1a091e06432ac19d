"""Refuses to run a root module whose required variables were not given, before anything runs.

Terraform reports one missing variable at a time, and only once providers are installed; this
names all of them, with their descriptions, from the configuration text alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2


class MissingVariables(ValueError):
    pass


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    required: bool


def unquote(text: str) -> str:
    """A name or text as python-hcl2 gives it, without the double quotes it may keep."""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def declared_variables(directory: Path) -> Iterator[Variable]:
    """The `variable` blocks of the module in `directory`."""
    for path in sorted(directory.glob("*.tf")):
        parsed: dict[str, Any] = hcl2.loads(path.read_text())
        for block in parsed.get("variable", []):
            for name, body in block.items():
                yield Variable(
                    name=unquote(name),
                    description=unquote(str(body.get("description", ""))),
                    required="default" not in body,
                )


def given_in_files(directory: Path) -> set[str]:
    """Variables set by the files Terraform loads by itself."""
    names: set[str] = set()
    files = [directory / "terraform.tfvars", *sorted(directory.glob("*.auto.tfvars"))]
    for path in files:
        if path.is_file():
            names.update(hcl2.loads(path.read_text()))
    return names


def check_required_variables(
    directory: Path, given: Mapping[str, object], environ: Mapping[str, str] | None = None
) -> None:
    env = os.environ if environ is None else environ
    supplied = set(given) | given_in_files(directory)
    supplied |= {key.removeprefix("TF_VAR_") for key in env if key.startswith("TF_VAR_")}
    missing = [v for v in declared_variables(directory) if v.required and v.name not in supplied]
    if missing:
        lines = "\n".join(f"  {v.name}: {v.description}" for v in missing)
        raise MissingVariables(
            f"{directory} needs a value for each of these variables (pass them as variables, "
            f"in terraform.tfvars, or as TF_VAR_<name>):\n{lines}"
        )
