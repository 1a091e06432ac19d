"""Where the DAGs find the pipeline's definition, the services' artifacts and the directory their
tasks work in, and their other settings.

Every setting is an Airflow Variable. Airflow reads a Variable from the environment first
(`AIRFLOW_VAR_<NAME>`), then from the metadata database, so each can be set either way. At parse
time only the environment is read: a DAG file must not query the database on every parse.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from pathlib import Path

from flight_orchestration.stages import read_params

# A checkout whose dvc.yaml and params.yaml define the pipeline. Default: the repo the DAG file
# sits in, else the copies the MWAA bundle carries. Tasks never run in it.
REPO_VARIABLE = "flight_delay_repo"
# The directory holding the services' built artifacts as `./pants package` lays them out
# (services.train/train.pex, ...). Default: the dist/ of the repo the DAG file sits in.
ARTIFACTS_VARIABLE = "flight_delay_artifacts"
# The directory tasks work in: the pipeline's data/ and the model store live under it. Default:
# the repo the DAG file sits in.
WORKDIR_VARIABLE = "flight_delay_workdir"
# The serve service's Prometheus endpoint, e.g. http://serve.internal:3000/metrics.
METRICS_URL_VARIABLE = "flight_delay_metrics_url"
# Or Prometheus itself, e.g. http://prometheus:9090 (its HTTP API is queried).
PROMETHEUS_URL_VARIABLE = "flight_delay_prometheus_url"
# Where the pipeline's tasks run: `local` (the default; each service's PEX on the worker) or `ecs`
# (each service's image as an ECS task; flight_orchestration.runners). Read at parse time.
RUNNER_VARIABLE = "flight_delay_runner"
# The ecs runner's settings, a JSON object (see flight_orchestration.runners). Read at parse time.
ECS_VARIABLE = "flight_delay_ecs"
LOCAL_RUNNER, ECS_RUNNER = "local", "ecs"
# Overrides params.yaml's monitor.psi_threshold.
PSI_THRESHOLD_VARIABLE = "flight_delay_psi_threshold"
# Hours after a pipeline run ended during which the drift check triggers no other. After a
# success (any run: the daily scheduled one retrains as a triggered one does), the drift lasts
# until the retrained model is deployed, which no DAG does, and each hour's check would retrain
# on the same data again; after a failure, which would repeat, each hour's check would start
# another full run (a paid training job too) until an operator fixes it. 0 turns it off.
RETRAIN_COOLDOWN_VARIABLE = "flight_delay_retrain_cooldown_hours"
RETRAIN_COOLDOWN_HOURS = 24.0
# Hours a pipeline run may take: the run's dagrun_timeout, each of its tasks' execution_timeout
# (no stage may outlast its run) and so the bound of the ECS and SageMaker waits. A run running
# longer is hung: it held up every later run (one at a time) and every drift retrain. Read at
# parse time (the environment form only); the drift check reads the same.
RUN_TIMEOUT_VARIABLE = "flight_delay_run_timeout_hours"
RUN_TIMEOUT_HOURS = 24.0
# At most SageMaker's longest training job (28 days): a stage may be one, and much more than a
# timedelta holds (about 2.4e10 hours) failed the DAG's parse with a bare OverflowError.
# infra/envs/aws's pipeline_run_timeout_hours refuses the same at plan.
MAX_RUN_TIMEOUT_HOURS = 28 * 24

HERE = Path(__file__).resolve().parent


class SettingError(ValueError):
    """A setting is missing or wrong; the message names it and says what is expected."""


def environment_variable(name: str) -> str:
    return f"AIRFLOW_VAR_{name.upper()}"


def _answer(question: Callable[[Path], bool], path: Path, source: str) -> bool:
    """`question(path)` (Path.is_dir, say); a SettingError naming `source` where pathlib raises,
    for a path the filesystem cannot look up (a name too long, a parent this user cannot search)."""
    try:
        return question(path)
    except OSError as error:
        raise SettingError(
            f"{source}: {path} cannot be looked up ({error.strerror or error})"
        ) from None


def check_repo(path: Path, source: str) -> Path:
    """`path` if it holds the pipeline's definition, else a SettingError naming `source`."""
    if not _answer(Path.is_dir, path, source):
        raise SettingError(f"{source}: the repo checkout {path} does not exist")
    missing = [
        name
        for name in ("dvc.yaml", "params.yaml")
        if not _answer(Path.is_file, path / name, source)
    ]
    if missing:
        raise SettingError(
            f"{source}: {path} is not a checkout of the platform repo (no {', '.join(missing)})"
        )
    return path.resolve()


def enclosing_repo(start: Path = HERE) -> Path | None:
    """The repo this file sits in, if it sits in one (not in a zipped DAG bundle)."""
    for directory in (start, *start.parents):
        if (directory / "dvc.yaml").is_file() and (directory / "params.yaml").is_file():
            return directory
    return None


def set_value(configured: str | None, source: str, expected: str, instead: str) -> str | None:
    """`configured`, or None when it is not set. Set to nothing (`AIRFLOW_VAR_...=$UNSET`, a
    value cleared in the UI) is not unset: read as unset, a run took the default (the DAG file's
    checkout, its data/ and model store; the local runner for ecs), so it is a SettingError
    naming `source`, what it takes (`expected`) and what deleting it does (`instead`)."""
    if configured is not None and not configured.strip():
        raise SettingError(f"{source} is set but empty: set it to {expected}, or {instead}")
    return configured


def _directory(configured: str | None, variable: str, default: Path | None) -> Path:
    source = f"Airflow Variable {variable}"
    instead = f"delete it (and {environment_variable(variable)}) to use its default"
    if set_value(configured, source, "a directory", instead) is not None:
        path = Path(str(configured))
    elif default is not None:
        path, source = default, f"{variable}'s default, beside the DAG file's repo"
    else:
        raise SettingError(
            f"Airflow Variable {variable} is not set and the DAG file ({HERE}) is not inside a "
            f"checkout of the platform repo: set it (or {environment_variable(variable)})"
        )
    if not _answer(Path.is_dir, path, source):
        raise SettingError(f"{source}: {path} is not a directory")
    return path.resolve()


def artifacts(configured: str | None) -> Path:
    """Where the services' artifacts are: the Variable's value, else the repo's dist/."""
    repo = enclosing_repo()
    return _directory(configured, ARTIFACTS_VARIABLE, repo / "dist" if repo else None)


def workdir(configured: str | None) -> Path:
    """Where tasks work: the Variable's value, else the repo the DAG file sits in."""
    return _directory(configured, WORKDIR_VARIABLE, enclosing_repo())


def runner() -> str:
    """The runner named by the Variable's environment form, `local` by default (only that form
    is read at parse time: on MWAA, export it in the environment's startup script)."""
    variable = environment_variable(RUNNER_VARIABLE)
    configured = set_value(
        os.environ.get(variable), variable, "local or ecs", f"unset it for {LOCAL_RUNNER}"
    )
    name = LOCAL_RUNNER if configured is None else configured
    if name not in (LOCAL_RUNNER, ECS_RUNNER):
        raise SettingError(f"{variable} is {name!r}: expected local or ecs")
    return name


def ecs_settings() -> str:
    """The ecs runner's settings, the Variable's environment form (JSON). Only that form is
    read at parse time: the message says so, as one set in the UI looks set."""
    name = environment_variable(ECS_VARIABLE)
    value = set_value(
        os.environ.get(name),
        name,
        "the ecs runner's JSON settings",
        f"set {environment_variable(RUNNER_VARIABLE)} to {LOCAL_RUNNER}",
    )
    if value is None:
        raise SettingError(
            f"{name} is not set: the ecs runner needs its settings ({ECS_VARIABLE}) in the "
            "environment of the processes that parse the DAG file (on MWAA, exported by its "
            "startup script); an Airflow Variable set in the UI or the CLI is not read there"
        )
    return value


def _finite_number(value: object, source: str, what: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SettingError(f"{source}: {what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise SettingError(f"{source}: {what} {value!r} is not a finite number")
    return number


def parse_threshold(value: object, source: str) -> float:
    """A PSI threshold: a finite number above 0."""
    threshold = _finite_number(value, source, "PSI threshold")
    if threshold <= 0:
        raise SettingError(f"{source}: PSI threshold {value!r} must be a finite number above 0")
    return threshold


def parse_hours(value: object, source: str) -> float:
    """A number of hours: finite, 0 or more."""
    hours = _finite_number(value, source, "number of hours")
    if hours < 0:
        raise SettingError(f"{source}: number of hours {value!r} must be 0 or more")
    return hours


def hours_before(now: dt.datetime, hours: float) -> dt.datetime | None:
    """`hours` before `now`; None when no datetime is that early, so every time is after it.
    parse_hours takes any finite number (10 ** 9 hours: "never again"), which a timedelta, or
    `now` minus it, cannot hold."""
    try:
        return now - dt.timedelta(hours=hours)
    except OverflowError:
        return None


def run_timeout() -> dt.timedelta:
    """The Variable's environment form if set, else RUN_TIMEOUT_HOURS: a number of hours above
    0 (none would leave a hung run blocking the pipeline for good)."""
    name = environment_variable(RUN_TIMEOUT_VARIABLE)
    configured = set_value(
        os.environ.get(name), name, "a number of hours", f"unset it for {RUN_TIMEOUT_HOURS:g}"
    )
    if configured is None:
        return dt.timedelta(hours=RUN_TIMEOUT_HOURS)
    hours = parse_hours(configured, name)
    if not 0 < hours <= MAX_RUN_TIMEOUT_HOURS:
        raise SettingError(
            f"{name}: number of hours {configured!r} must be above 0 and at most "
            f"{MAX_RUN_TIMEOUT_HOURS} (28 days, SageMaker's longest training job)"
        )
    return dt.timedelta(hours=hours)


def params_threshold(checkout: Path | None) -> float:
    """params.yaml's monitor.psi_threshold, the value the drift alert uses too."""
    value = (read_params(checkout).get("monitor") or {}).get("psi_threshold")
    if value is None:
        raise SettingError("params.yaml has no monitor.psi_threshold")
    return parse_threshold(value, "params.yaml monitor.psi_threshold")


def parse_time_repo() -> Path | None:
    """The checkout whose dvc.yaml and params.yaml define the pipeline: the Variable's
    environment form if set, else the enclosing repo, else None (a DAG bundle carries copies)."""
    variable = environment_variable(REPO_VARIABLE)
    configured = set_value(
        os.environ.get(variable),
        variable,
        "a checkout of the platform repo",
        "unset it to use the one the DAG file is in",
    )
    if configured is not None:
        return check_repo(Path(configured), variable)
    return enclosing_repo()
