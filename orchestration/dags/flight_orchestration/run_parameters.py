"""A pipeline run's parameters, fixed when the run starts. The run's first task (PARAMS_TASK)
computes them once: params.yaml, the run conf's `params` overrides and land.end from the logical
date (commands.run_params, which also refuses a bad conf, so the run fails there by name). Its
return value, the parameters, is its XCom, and every stage task takes them from there. Under the
local runner it also fixes the run's working directory and artifacts directory (the Variables
settings.WORKDIR_VARIABLE and settings.ARTIFACTS_VARIABLE), XComs of their own.

Airflow parses the DAG file again for each task it runs, so a task that computed them itself
would read params.yaml as it is then: one changed while the run is in flight (a new MWAA bundle,
a git pull) would give the run's later stages other parameters than its earlier ones, and a task
cleared days later would run with that day's parameters on outputs built with the run's. The
same holds for the Variables, which a task read when it ran: one changed mid-run ran the run's
later stages on other artifacts, or in a directory without the data its earlier stages wrote.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from airflow.models import Variable
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.operators.python import PythonOperator

from flight_orchestration import settings
from flight_orchestration.commands import run_params

PARAMS_TASK = "run_params"
# The XCom keys of the directories PARAMS_TASK fixes for the local runner.
WORKDIR_KEY = "workdir"
ARTIFACTS_KEY = "artifacts"


class RunParamsError(Exception):
    """A stage task found no parameters fixed for its run."""


def fix_run_params(
    defaults: dict[str, Any],
    directories: bool,
    dag_run: DagRun,
    logical_date: dt.datetime,
    ti: TaskInstance,
) -> dict[str, Any]:
    """The run's parameters, returned to be the task's XCom; with `directories`, the run's
    working and artifacts directories too, checked and pushed as XComs."""
    params = run_params(defaults, dag_run.conf, logical_date)
    if directories:
        workdir = settings.workdir(Variable.get(settings.WORKDIR_VARIABLE, default_var=None))
        artifacts = settings.artifacts(Variable.get(settings.ARTIFACTS_VARIABLE, default_var=None))
        ti.xcom_push(key=WORKDIR_KEY, value=str(workdir))
        ti.xcom_push(key=ARTIFACTS_KEY, value=str(artifacts))
    return params


def params_operator(defaults: dict[str, Any], directories: bool = True) -> PythonOperator:
    """The run's first task, fixing its parameters from `defaults` (params.yaml as parsed), and
    with `directories` (the local runner's) its working and artifacts directories."""
    return PythonOperator(
        task_id=PARAMS_TASK,
        python_callable=fix_run_params,
        op_kwargs={"defaults": defaults, "directories": directories},
    )


def _missing(context: Any, what: str) -> RunParamsError:
    return RunParamsError(
        f"run {context['run_id']} has no {what} from its {PARAMS_TASK} task: clear "
        f"{PARAMS_TASK} to fix them (with its downstream tasks, which run on them)"
    )


def the_runs_params(context: Any) -> dict[str, Any]:
    """The parameters the run's PARAMS_TASK fixed, for a stage task of the same run."""
    params = context["ti"].xcom_pull(task_ids=PARAMS_TASK)
    if not isinstance(params, dict):
        raise _missing(context, "parameters")
    return params


def the_runs_directories(context: Any) -> tuple[Path, Path]:
    """The working directory and the artifacts directory the run's PARAMS_TASK fixed."""
    ti = context["ti"]
    workdir = ti.xcom_pull(task_ids=PARAMS_TASK, key=WORKDIR_KEY)
    artifacts = ti.xcom_pull(task_ids=PARAMS_TASK, key=ARTIFACTS_KEY)
    if not isinstance(workdir, str) or not isinstance(artifacts, str):
        raise _missing(context, "working and artifacts directories")
    return Path(workdir), Path(artifacts)
