"""Checks how root modules call their local modules, from the configuration text alone.

`terraform validate` needs every provider installed, which an offline machine may not have.
This catches what it would catch in the wiring between modules: an argument a module does not
declare, a required variable left out, a `module.<name>.<output>` that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iac.variables import declared_variables, read_hcl, unquote

# Arguments of a module block that Terraform itself interprets.
META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}
MODULE_OUTPUT = re.compile(r"\bmodule\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.([A-Za-z0-9_-]+)")
# A `moved` block's `from` and `to` are resource addresses (`module.x.terraform_data.this`), not
# references to outputs.
MOVED_BLOCK = re.compile(r"^moved\s*\{[^}]*\}", re.MULTILINE)


@dataclass(frozen=True)
class ModuleCall:
    name: str
    source: Path
    arguments: frozenset[str]


def parse_directory(directory: Path) -> list[dict[str, Any]]:
    return [read_hcl(path) for path in sorted(directory.glob("*.tf"))]


def module_calls(directory: Path) -> Iterator[ModuleCall]:
    for parsed in parse_directory(directory):
        for block in parsed.get("module", []):
            for name, body in block.items():
                source = unquote(str(body["source"]))
                yield ModuleCall(
                    name=unquote(name),
                    source=(directory / source).resolve(),
                    arguments=frozenset(k for k in body if not k.startswith("__")) - META_ARGUMENTS,
                )


def declared_outputs(directory: Path) -> set[str]:
    return {
        unquote(name)
        for parsed in parse_directory(directory)
        for block in parsed.get("output", [])
        for name in block
    }


def wiring_problems(directory: Path) -> list[str]:
    """Everything wrong with how the module in `directory` calls its local modules."""
    problems: list[str] = []
    calls = {call.name: call for call in module_calls(directory)}
    for call in calls.values():
        if not call.source.is_dir():
            problems.append(f"module.{call.name}: source {call.source} does not exist")
            continue
        variables = {v.name: v for v in declared_variables(call.source)}
        for argument in sorted(call.arguments - set(variables)):
            problems.append(f"module.{call.name}: {call.source.name} has no variable {argument!r}")
        for name in sorted(n for n, v in variables.items() if v.required):
            if name not in call.arguments:
                problems.append(f"module.{call.name}: required variable {name!r} is not given")
    text = "\n".join(
        MOVED_BLOCK.sub("", path.read_text()) for path in sorted(directory.glob("*.tf"))
    )
    for module, output in sorted(set(MODULE_OUTPUT.findall(text))):
        if module not in calls:
            problems.append(f"module.{module} is referenced but not declared")
        elif output not in declared_outputs(calls[module].source):
            problems.append(f"module.{module}.{output}: no such output")
    return problems
