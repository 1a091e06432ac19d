"""Reports visibility-rule violations from `./pants lint`.

Pants 2.17 checks `__dependencies_rules__` only when a goal resolves dependencies (check, test,
package). This lint resolves every target's dependencies, so a service importing another
service's code fails `./pants lint` too, with Pants' own explanation of the rule it broke.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pants.core.goals.lint import LintResult, LintTargetsRequest
from pants.core.util_rules.partitions import PartitionerType
from pants.engine.addresses import Addresses
from pants.engine.internals.dep_rules import DependencyRulesError
from pants.engine.rules import Get, MultiGet, Rule, collect_rules, rule
from pants.engine.target import Dependencies, DependenciesRequest, FieldSet
from pants.option.option_types import SkipOption
from pants.option.subsystem import Subsystem
from pants.util.logging import LogLevel


class VisibilityLint(Subsystem):
    options_scope = "visibility-lint"
    name = "visibility"
    help = "Fail `lint` on dependencies that break the `__dependencies_rules__` in BUILD files."

    skip = SkipOption("lint")


@dataclass(frozen=True)
class VisibilityFieldSet(FieldSet):
    required_fields = (Dependencies,)

    dependencies: Dependencies


class VisibilityLintRequest(LintTargetsRequest):
    field_set_type = VisibilityFieldSet
    tool_subsystem = VisibilityLint
    partitioner_type = PartitionerType.DEFAULT_SINGLE_PARTITION


@dataclass(frozen=True)
class Violation:
    message: str | None


@rule
async def find_violation(field_set: VisibilityFieldSet) -> Violation:
    try:
        await Get(Addresses, DependenciesRequest(field_set.dependencies))
    except DependencyRulesError as e:
        return Violation(str(e))
    return Violation(None)


@rule(desc="Lint visibility rules", level=LogLevel.DEBUG)
async def visibility_lint(
    request: VisibilityLintRequest.Batch[VisibilityFieldSet, Any],
) -> LintResult:
    violations = await MultiGet(Get(Violation, VisibilityFieldSet, fs) for fs in request.elements)
    messages = [v.message for v in violations if v.message]
    return LintResult(
        exit_code=1 if messages else 0,
        stdout="\n\n".join(messages),
        stderr="",
        linter_name=request.tool_name,
        partition_description=request.partition_metadata.description,
    )


def rules() -> Iterable[Rule | Any]:
    return (*collect_rules(), *VisibilityLintRequest.rules())
