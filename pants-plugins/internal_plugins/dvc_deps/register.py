"""`./pants dvc-deps`: writes into each `dvc.yaml` stage the source files its service depends on.

A stage whose `cmd` runs `./pants run <target>` depends on every source file in that target's
transitive closure, plus the lockfile when third-party code is in it. DVC then re-runs exactly
the stages a change can affect. `./pants dvc-deps --check` fails, changing nothing, when
`dvc.yaml` is out of date; CI runs it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import PythonRequirementResolveField
from pants.engine.addresses import Address, AddressInput
from pants.engine.console import Console
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    PathGlobs,
    Workspace,
)
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.rules import Get, MultiGet, Rule, collect_rules, goal_rule, rule
from pants.engine.target import (
    HydratedSources,
    HydrateSourcesRequest,
    SourcesField,
    TransitiveTargets,
    TransitiveTargetsRequest,
)
from pants.option.option_types import BoolOption, StrOption

from internal_plugins.dvc_deps.dvc_yaml import DvcYamlError, stage_targets, with_source_deps

DVC_YAML = "dvc.yaml"


class DvcDepsSubsystem(GoalSubsystem):
    name = "dvc-deps"
    help = "Write each dvc.yaml stage's source-file deps from the Pants dependency graph."

    check = BoolOption(
        default=False, help="Change nothing; fail if dvc.yaml is out of date with the graph."
    )
    file = StrOption(default=DVC_YAML, help="The DVC pipeline file, relative to the build root.")


class DvcDeps(Goal):
    subsystem_cls = DvcDepsSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@dataclass(frozen=True)
class StageSources:
    """The source files (and lockfile) in the transitive closure of the target a stage runs."""

    files: tuple[str, ...]


@rule
async def stage_sources(address: Address, python_setup: PythonSetup) -> StageSources:
    closure = await Get(TransitiveTargets, TransitiveTargetsRequest([address]))
    targets = closure.closure
    hydrated = await MultiGet(
        Get(HydratedSources, HydrateSourcesRequest(t[SourcesField]))
        for t in targets
        if t.has_field(SourcesField)
    )
    files: set[str] = {f for h in hydrated for f in h.snapshot.files}
    for target in targets:
        if target.has_field(PythonRequirementResolveField):
            resolve = target[PythonRequirementResolveField].normalized_value(python_setup)
            files.add(python_setup.resolves[resolve])
    return StageSources(tuple(sorted(files)))


@goal_rule
async def dvc_deps(
    subsystem: DvcDepsSubsystem,
    console: Console,
    workspace: Workspace,
) -> DvcDeps:
    path = subsystem.file
    contents = await Get(DigestContents, PathGlobs([path]))
    if not contents:
        console.print_stderr(f"{path} not found")
        return DvcDeps(exit_code=1)
    text = contents[0].content.decode()
    try:
        targets = stage_targets(text)
    except DvcYamlError as error:
        console.print_stderr(f"{path}: {error}")
        return DvcDeps(exit_code=1)
    addresses = await MultiGet(
        Get(
            Address,
            AddressInput,
            AddressInput.parse(spec, description_of_origin=f"stage `{stage}` of {path}"),
        )
        for stage, spec in targets.items()
    )
    sources = await MultiGet(Get(StageSources, Address, a) for a in addresses)
    # Pants runs plugins on Python 3.9, which has no zip(strict=).
    pairs = zip(targets, sources)  # noqa: B905
    expected = with_source_deps(text, {stage: s.files for stage, s in pairs})
    if expected == text:
        console.print_stderr(f"{path} is in sync with the Pants graph.")
        return DvcDeps(exit_code=0)
    diff = difflib.unified_diff(
        text.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        f"{path} (now)",
        f"{path} (from the Pants graph)",
    )
    if subsystem.check:
        console.print_stdout("".join(diff))
        console.print_stderr(f"{path} is out of sync with the Pants graph: run `./pants dvc-deps`.")
        return DvcDeps(exit_code=1)
    digest = await Get(Digest, CreateDigest([FileContent(path, expected.encode())]))
    workspace.write_digest(digest)
    console.print_stdout("".join(diff))
    console.print_stderr(f"Updated {path} from the Pants graph.")
    return DvcDeps(exit_code=0)


def rules() -> Iterable[Rule | Any]:
    return collect_rules()
