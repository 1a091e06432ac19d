"""Refuses to run a root module whose required variables were not given, before anything runs.

Terraform reports one missing variable at a time, and only once providers are installed; this
names all of them, with their descriptions, from the configuration text alone. Where python-hcl2
cannot read a file Terraform reads, the check steps aside and Terraform names what is wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2


class MissingVariables(ValueError):
    pass


class UnreadableConfiguration(ValueError):
    """A file of the configuration cannot be read or parsed here; the message names it."""


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    required: bool
    # As python-hcl2 reads it (a string keeps its double quotes); None when required.
    default: Any = None


def unquote(text: str) -> str:
    """A name or text as python-hcl2 gives it, without the double quotes it may keep."""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def read_hcl(path: Path) -> dict[str, Any]:
    """`path` as python-hcl2 parses it."""
    try:
        parsed: dict[str, Any] = hcl2.loads(path.read_text(encoding="utf-8"))
    except Exception as error:  # python-hcl2 raises its parser's (lark's) errors, not its own
        raise UnreadableConfiguration(f"python-hcl2 cannot read {path}: {error}") from error
    return parsed


def declared_variables(directory: Path) -> Iterator[Variable]:
    """The `variable` blocks of the module in `directory`."""
    for path in sorted(directory.glob("*.tf")):
        for block in read_hcl(path).get("variable", []):
            for name, body in block.items():
                yield Variable(
                    name=unquote(name),
                    description=unquote(str(body.get("description", ""))),
                    required="default" not in body,
                    default=body.get("default"),
                )


def read_tfvars(path: Path) -> dict[str, Any]:
    """A variable definitions file: HCL, or JSON when its name ends in `.json`."""
    if path.suffix != ".json":
        return read_hcl(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UnreadableConfiguration(f"cannot read {path}: {error}") from error
    if not isinstance(values, dict):
        raise UnreadableConfiguration(f"{path} holds no JSON object of variables")
    return values


def variable_files(directory: Path) -> list[Path]:
    """The variable definitions files Terraform loads by itself, in its order (a later one's
    value wins), whether or not they exist."""
    auto = [*directory.glob("*.auto.tfvars"), *directory.glob("*.auto.tfvars.json")]
    named = [directory / "terraform.tfvars", directory / "terraform.tfvars.json"]
    return [*named, *sorted(auto, key=lambda path: path.name)]


def given_in_files(directory: Path) -> set[str]:
    """Variables set by the files Terraform loads by itself."""
    files = variable_files(directory)
    return {name for path in files if path.is_file() for name in read_tfvars(path)}


def check_required_variables(
    directory: Path, given: Mapping[str, object], environ: Mapping[str, str] | None = None
) -> None:
    env = os.environ if environ is None else environ
    try:
        declared = list(declared_variables(directory))
        supplied = set(given) | given_in_files(directory)
    except UnreadableConfiguration:
        return  # Terraform reads these files too, and names what is wrong in them.
    supplied |= {key.removeprefix("TF_VAR_") for key in env if key.startswith("TF_VAR_")}
    missing = [v for v in declared if v.required and v.name not in supplied]
    if missing:
        lines = "\n".join(f"  {v.name}: {v.description}" for v in missing)
        raise MissingVariables(
            f"{directory} needs a value for each of these variables (pass them as variables, "
            f"in terraform.tfvars, or as TF_VAR_<name>):\n{lines}"
        )
