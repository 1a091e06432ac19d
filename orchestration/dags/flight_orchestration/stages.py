"""The DVC pipeline's stage graph, read from dvc.yaml: which stages run which artifact, and which
run before which. A stage runs after every stage that writes one of its data deps (DVC's own
rule). Deps under dist/ are the artifacts a stage runs, not data. Every stage must run one: a
stage left out would take the ordering through it with it (land -> unzip -> ingest would run
ingest beside land), so a stage whose cmd runs no artifact is an error, not a stage skipped."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from flight_orchestration.commands import ARTIFACT_PREFIX, CommandError, StageCommand

# Copies of dvc.yaml and params.yaml that the MWAA bundle carries in this package
# (orchestration/mwaa), for an Airflow whose DAG folder is not inside a checkout. Read as package
# resources: Airflow imports the package from inside the bundle's zip, where no file path opens.
BUNDLED_DVC_YAML = files("flight_orchestration") / "dvc.yaml"
BUNDLED_PARAMS_YAML = files("flight_orchestration") / "params.yaml"


class PipelineError(ValueError):
    """dvc.yaml cannot be read as a stage graph; the message says why."""


@dataclass(frozen=True)
class Stage:
    name: str
    # The stages that write this stage's data deps, in dvc.yaml order.
    upstream: tuple[str, ...]
    command: StageCommand
    # The params.yaml groups the stage reads (its `params`, `train.epochs` as `train`).
    params: tuple[str, ...] = ()


def _param_groups(name: str, entries: Any) -> tuple[str, ...]:
    """The params.yaml groups of a stage's `params` list (a key, or {params.yaml: [keys]})."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise PipelineError(f"stage {name}: params must be a list, not {entries!r}")
    keys: list[Any] = []
    for entry in entries:
        if isinstance(entry, dict):
            for file, listed in entry.items():
                if file != "params.yaml":
                    raise PipelineError(
                        f"stage {name}: params from {file}: a run passes params.yaml's groups only"
                    )
                keys.extend(listed if isinstance(listed, list) else [listed])
        else:
            keys.append(entry)
    bad = [key for key in keys if not isinstance(key, str) or not key.split(".")[0]]
    if bad:
        raise PipelineError(f"stage {name}: params {bad!r} are not params.yaml keys")
    return tuple(dict.fromkeys(key.split(".")[0] for key in keys))


def _paths(entries: list[Any] | None) -> list[str]:
    """The paths of a deps/outs/metrics list (an entry is a path or {path: options})."""
    paths = []
    for entry in entries or []:
        paths.extend([entry] if isinstance(entry, str) else list(entry))
    return [str(PurePosixPath(p)) for p in paths]


def _within(path: str, output: str) -> bool:
    return path == output or path.startswith(output + "/") or output.startswith(path + "/")


def _command(name: str, cmd: Any) -> StageCommand:
    """The stage's artifact command. DVC's list form of `cmd` (commands run in turn) is refused,
    even when each runs an artifact: a task, a local one or an ECS or SageMaker one, runs one
    artifact's command."""
    if isinstance(cmd, list):
        raise CommandError(
            f"stage {name}: cmd is a list of commands; a stage's task runs one, "
            f"{ARTIFACT_PREFIX}/<artifact>/__main__.py <args>: give each command its own stage"
        )
    if cmd is None:
        raise CommandError(
            f"stage {name}: no cmd; it must run {ARTIFACT_PREFIX}/<artifact>/__main__.py <args>"
        )
    if not isinstance(cmd, str):
        raise CommandError(
            f"stage {name}: cmd must be a command, {ARTIFACT_PREFIX}/<artifact>/__main__.py "
            f"<args>, not {cmd!r}"
        )
    return StageCommand.parse(name, cmd)


def stage_graph(dvc_yaml: str) -> list[Stage]:
    """The stages of a dvc.yaml text, each with the stages it depends on, in file order."""
    try:
        document = yaml.safe_load(dvc_yaml) or {}
    except yaml.YAMLError as error:
        raise PipelineError(f"dvc.yaml is not YAML: {error}") from None
    stages = document.get("stages") if isinstance(document, dict) else None
    if not isinstance(stages, dict) or not stages:
        raise PipelineError("dvc.yaml has no stages")
    outputs: dict[str, list[str]] = {}
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            raise PipelineError(f"dvc.yaml: stage {name} is not a mapping")
        if "foreach" in stage or "matrix" in stage:
            raise PipelineError(f"stage {name}: foreach/matrix stages are not supported")
        outputs[name] = _paths(stage.get("outs")) + _paths(stage.get("metrics"))
        outputs[name] += _paths(stage.get("plots"))
    commands: dict[str, StageCommand] = {}
    problems = []
    for name, stage in stages.items():
        try:
            commands[name] = _command(name, stage.get("cmd"))
        except CommandError as error:
            problems.append(str(error))
    if problems:
        raise PipelineError(
            "every dvc.yaml stage must run a service's built artifact, as its task does: "
            + "; ".join(problems)
        )
    graph = []
    for name, stage in stages.items():
        deps = [d for d in _paths(stage.get("deps")) if not _within(d, str(ARTIFACT_PREFIX))]
        upstream = tuple(
            other
            for other in stages
            if other != name and any(_within(d, o) for d in deps for o in outputs[other])
        )
        graph.append(
            Stage(name, upstream, commands[name], _param_groups(name, stage.get("params")))
        )
    _check_acyclic(graph)
    return graph


def _check_acyclic(graph: list[Stage]) -> None:
    upstream = {stage.name: stage.upstream for stage in graph}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise PipelineError(f"dvc.yaml's stages form a cycle: {' -> '.join((*path, name))}")
        if name in done:
            return
        for before in upstream[name]:
            visit(before, (*path, name))
        done.add(name)

    for name in upstream:
        visit(name, ())


def artifact_groups(graph: list[Stage], artifact: PurePosixPath) -> tuple[str, ...]:
    """The params groups of every stage that runs `artifact`, in dvc.yaml order: what a run of
    that service's artifact needs when it gets no params file (a SageMaker training job)."""
    groups = (
        group for stage in graph if stage.command.artifact == artifact for group in stage.params
    )
    return tuple(dict.fromkeys(groups))


def sinks(graph: list[Stage]) -> list[str]:
    """The stages no other stage depends on: the pipeline is done when they are."""
    used = {before for stage in graph for before in stage.upstream}
    return [stage.name for stage in graph if stage.name not in used]


def pipeline_file(checkout: Path | None, name: str, bundled: Traversable) -> Traversable:
    """`checkout`'s dvc.yaml or params.yaml, or the bundled copy without a checkout."""
    source = checkout / name if checkout is not None else bundled
    if not source.is_file():
        raise PipelineError(
            f"no {name} at {source}: set AIRFLOW_VAR_FLIGHT_DELAY_REPO to the repo checkout, "
            "or deploy the DAGs as the MWAA bundle (which carries a copy)"
        )
    return source


def read_stage_graph(checkout: Path | None) -> list[Stage]:
    """The stage graph of `checkout`'s dvc.yaml, or of the bundled copy without a checkout."""
    return stage_graph(pipeline_file(checkout, "dvc.yaml", BUNDLED_DVC_YAML).read_text())


def read_params(checkout: Path | None) -> dict[str, Any]:
    """`checkout`'s params.yaml, or the bundled copy: the defaults a run starts from."""
    source = pipeline_file(checkout, "params.yaml", BUNDLED_PARAMS_YAML)
    try:
        params = yaml.safe_load(source.read_text())
    except yaml.YAMLError as error:
        raise PipelineError(f"{source} is not YAML: {error}") from None
    if not isinstance(params, dict):
        raise PipelineError(f"{source} is not a mapping of parameter groups")
    return params
