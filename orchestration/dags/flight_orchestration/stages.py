"""The DVC pipeline's stage graph, read from dvc.yaml: which stages there are and which run
before which. A stage runs after every stage that writes one of its deps (DVC's own rule)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

# A copy of dvc.yaml that the MWAA bundle carries beside this file (orchestration/mwaa), for an
# Airflow whose DAG folder is not inside a checkout.
BUNDLED_DVC_YAML = Path(__file__).resolve().parent / "dvc.yaml"


class PipelineError(ValueError):
    """dvc.yaml cannot be read as a stage graph; the message says why."""


@dataclass(frozen=True)
class Stage:
    name: str
    # The stages that write this stage's deps, in dvc.yaml order.
    upstream: tuple[str, ...]


def _paths(entries: list[Any] | None) -> list[str]:
    """The paths of a deps/outs/metrics list (an entry is a path or {path: options})."""
    paths = []
    for entry in entries or []:
        paths.extend([entry] if isinstance(entry, str) else list(entry))
    return [str(PurePosixPath(p)) for p in paths]


def _within(path: str, output: str) -> bool:
    return path == output or path.startswith(output + "/") or output.startswith(path + "/")


def stage_graph(dvc_yaml: str) -> list[Stage]:
    """The stages of a dvc.yaml text, each with the stages it depends on, in file order."""
    document = yaml.safe_load(dvc_yaml) or {}
    stages = document.get("stages")
    if not isinstance(stages, dict) or not stages:
        raise PipelineError("dvc.yaml has no stages")
    outputs: dict[str, list[str]] = {}
    for name, stage in stages.items():
        if "foreach" in stage or "matrix" in stage:
            raise PipelineError(f"stage {name}: foreach/matrix stages are not supported")
        outputs[name] = _paths(stage.get("outs")) + _paths(stage.get("metrics"))
        outputs[name] += _paths(stage.get("plots"))
    graph = []
    for name, stage in stages.items():
        deps = _paths(stage.get("deps"))
        upstream = tuple(
            other
            for other in stages
            if other != name and any(_within(d, o) for d in deps for o in outputs[other])
        )
        graph.append(Stage(name, upstream))
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


def sinks(graph: list[Stage]) -> list[str]:
    """The stages no other stage depends on: the pipeline is done when they are."""
    used = {before for stage in graph for before in stage.upstream}
    return [stage.name for stage in graph if stage.name not in used]


def read_stage_graph(checkout: Path | None) -> list[Stage]:
    """The stage graph of `checkout`'s dvc.yaml, or of the bundled copy without a checkout."""
    source = checkout / "dvc.yaml" if checkout is not None else BUNDLED_DVC_YAML
    if not source.is_file():
        raise PipelineError(
            f"no dvc.yaml at {source}: set AIRFLOW_VAR_FLIGHT_DELAY_REPO to the repo checkout, "
            "or deploy the DAGs as the MWAA bundle (which carries a copy)"
        )
    return stage_graph(source.read_text())
