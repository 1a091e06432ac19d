"""What a pipeline task runs: its dvc.yaml stage's command, on the service's built artifact.

A stage's `cmd` in dvc.yaml is `dist/<artifact>/__main__.py <args>`, with `${group.key}`
parameters from params.yaml. A task runs the same artifact from the configured artifacts
directory, with the parameters of its run: params.yaml's values, then the run's overrides
(`dag_run.conf["params"]`, dotted keys), then the land window's end, the run's logical date. An
argument `params.yaml` (the train and evaluate stages read their groups from a file) becomes
the path of the run's own params file, written by the task: no tracked file is edited.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import shlex
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from flight_orchestration.run_ids import run_directory_name
from flight_orchestration.window import window_end

ARTIFACT_PREFIX = PurePosixPath("dist")
# <workdir>/runs/<run id>/params.yaml: the parameters a run's tasks read.
RUNS_DIRECTORY = "runs"
PARAMS_FILE_ARGUMENT = "params.yaml"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")
# The one form of a day the land artifact takes (libs/contracts' calendar_date, which MWAA does
# not get): Python's fromisoformat also takes 20130101 and week dates.
ISO_CALENDAR_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# What a pipeline run's conf holds: parameter overrides, and why the run was triggered (the
# retraining DAG's reason, for whoever reads the run; no task does).
PARAMS_CONF_KEY = "params"
REASON_CONF_KEY = "reason"
# The params.yaml group a run's conf may not override. monitor.psi_threshold is one setting for
# two readers: the features stage writes it into the serving statistics (the drift alert's
# threshold), and the drift DAG's check reads it from params.yaml; a run's own value would make
# them disagree.
MONITOR_GROUP = "monitor"


class CommandError(ValueError):
    """A stage's command or a run's parameters are not usable; the message says which."""


@dataclass(frozen=True)
class StageCommand:
    # The artifact's path under the artifacts directory, e.g. services.train/train.pex.
    artifact: PurePosixPath
    # The arguments after the artifact, parameters unresolved.
    args: tuple[str, ...]

    @classmethod
    def parse(cls, stage: str, cmd: str) -> StageCommand:
        try:
            words = shlex.split(cmd)
        except ValueError as error:
            raise CommandError(f"stage {stage}: cmd {cmd!r} is no command line ({error})") from None
        if not words:
            raise CommandError(f"stage {stage}: empty cmd")
        program = PurePosixPath(words[0])
        if program.parts[:1] != ARTIFACT_PREFIX.parts or program.name != "__main__.py":
            raise CommandError(
                f"stage {stage}: cmd must run a built artifact, dist/<artifact>/__main__.py, "
                f"not {words[0]!r}"
            )
        return cls(program.parent.relative_to(ARTIFACT_PREFIX), tuple(words[1:]))

    def args_for(self, params: dict[str, Any], params_file: str) -> list[str]:
        """The arguments after the artifact, for a run with `params` written to `params_file`."""
        return [
            params_file if arg == PARAMS_FILE_ARGUMENT else substitute(arg, params)
            for arg in self.args
        ]

    def argv(self, artifacts: Path, params: dict[str, Any], params_file: Path) -> list[str]:
        """The command line that runs this stage on `artifacts` with `params`."""
        main = artifacts / self.artifact / "__main__.py"
        return [str(main), *self.args_for(params, str(params_file))]


def lookup(params: dict[str, Any], dotted: str) -> Any:
    value: Any = params
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            raise CommandError(f"params has no {dotted}")
        value = value[key]
    return value


def substitute(arg: str, params: dict[str, Any]) -> str:
    """`arg` with each ${group.key} replaced by its value in `params`."""
    return _PLACEHOLDER.sub(lambda match: str(lookup(params, match[1])), arg)


def with_overrides(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`params` with dotted-key overrides applied, the more dotted key winning whatever the
    order (as the train service applies them); a key params.yaml lacks is refused by name, so a
    typo cannot silently leave a default in place, and so is a group given without one of its
    keys, which a later stage would miss."""
    updated = copy.deepcopy(params)
    for dotted, value in sorted(overrides.items(), key=lambda item: item[0].count(".")):
        *groups, key = dotted.split(".")
        if not all(groups) or not key:
            raise CommandError(
                f"run conf overrides {dotted!r}, which is no dotted parameter name "
                "(group.key, as in params.yaml)"
            )
        try:
            parent = lookup(updated, ".".join(groups)) if groups else updated
        except CommandError:
            parent = None
        if not isinstance(parent, dict) or key not in parent:
            raise CommandError(f"run conf overrides {dotted}, which params.yaml does not have")
        parent[key] = value
    for dotted in leaf_keys(params):
        try:
            lookup(updated, dotted)
        except CommandError:
            raise CommandError(
                f"run conf overrides a group without {dotted}: give a group every key it has "
                f"in params.yaml, or override {dotted} and its siblings by their dotted names"
            ) from None
    return updated


def leaf_keys(params: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted name of every value of `params` that is not a group."""
    keys = []
    for key, value in params.items():
        dotted = f"{prefix}{key}"
        keys.extend(leaf_keys(value, f"{dotted}.") if isinstance(value, dict) else [dotted])
    return keys


def write_params(params: dict[str, Any], path: Path) -> Path:
    """The run's params file, written whole (a retry rewrites it identically). A run's tasks
    that run at once (online_store beside features, say) each write it: every writer has its own
    temporary file, so none renames another's half-written one into place."""
    # By hand, not with libs/storage: MWAA gets this package and nothing else of the repo.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        partial.write_text(yaml.safe_dump(params, sort_keys=False))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def run_params(
    defaults: dict[str, Any], conf: dict[str, Any] | None, logical_date: dt.datetime
) -> dict[str, Any]:
    """A run's parameters: `defaults` (params.yaml), the conf's overrides, the window end."""
    conf = conf or {}
    unknown = sorted(set(conf) - {PARAMS_CONF_KEY, REASON_CONF_KEY})
    if unknown:
        # A mistyped key ("param") would otherwise run the defaults as if overridden.
        raise CommandError(
            f"run conf has unknown key(s) {', '.join(map(repr, unknown))}: it takes "
            f"{PARAMS_CONF_KEY!r} (dotted parameter names to values) and {REASON_CONF_KEY!r}"
        )
    # Only no 'params' at all means no overrides: a falsy [] or "" is no mapping either.
    overrides = conf.get(PARAMS_CONF_KEY, {})
    if not isinstance(overrides, dict):
        raise CommandError("run conf 'params' must map dotted parameter names to values")
    monitor = [k for k in overrides if isinstance(k, str) and k.split(".")[0] == MONITOR_GROUP]
    if monitor:
        raise CommandError(
            f"run conf 'params' sets {', '.join(monitor)}, which a run cannot: the drift threshold "
            "is one setting for the serving statistics the features stage writes (the drift "
            "alert's) and for the drift DAG's check; change it in params.yaml"
        )
    land = overrides.get("land")
    if "land.end" in overrides or (isinstance(land, dict) and "end" in land):
        raise CommandError(
            "run conf 'params' sets land.end, which is the run's logical date: trigger the run "
            "for that date instead"
        )
    params = with_overrides(defaults, overrides)
    start = _calendar_date(str(lookup(params, "land.start")))
    params["land"]["end"] = window_end(logical_date.date(), start).isoformat()
    return params


def _calendar_date(text: str) -> dt.date:
    if ISO_CALENDAR_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass  # 2013-02-30, 2013-13-01
    raise CommandError(f"land.start {text!r} is not a date (YYYY-MM-DD)")


def run_params_file(workdir: Path, run_id: str) -> Path:
    return workdir / RUNS_DIRECTORY / run_directory_name(run_id) / "params.yaml"
