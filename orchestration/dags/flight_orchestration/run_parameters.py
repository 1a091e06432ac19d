"""A pipeline run's parameters, fixed when the run starts. The run's first task (PARAMS_TASK)
computes them once: params.yaml, the run conf's `params` overrides and land.end from the logical
date (commands.run_params, which also refuses a bad conf, so the run fails there by name). Its
return value, the parameters, is its XCom, and every stage task takes them from there.

Airflow parses the DAG file again for each task it runs, so a task that computed them itself
would read params.yaml as it is then: one changed while the run is in flight (a new MWAA bundle,
a git pull) would give the run's later stages other parameters than its earlier ones, and a task
cleared days later would run with that day's parameters on outputs built with the run's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.models.dagrun import DagRun
from airflow.operators.python import PythonOperator

from flight_orchestration.commands import run_params

PARAMS_TASK = "run_params"


class RunParamsError(Exception):
    """A stage task found no parameters fixed for its run."""


def fix_run_params(
    defaults: dict[str, Any], dag_run: DagRun, logical_date: dt.datetime
) -> dict[str, Any]:
    """The run's parameters, returned to be the task's XCom."""
    return run_params(defaults, dag_run.conf, logical_date)


def params_operator(defaults: dict[str, Any]) -> PythonOperator:
    """The run's first task, fixing its parameters from `defaults` (params.yaml as parsed)."""
    return PythonOperator(
        task_id=PARAMS_TASK, python_callable=fix_run_params, op_kwargs={"defaults": defaults}
    )


def the_runs_params(context: Any) -> dict[str, Any]:
    """The parameters the run's PARAMS_TASK fixed, for a stage task of the same run."""
    params = context["ti"].xcom_pull(task_ids=PARAMS_TASK)
    if not isinstance(params, dict):
        raise RunParamsError(
            f"run {context['run_id']} has no parameters from its {PARAMS_TASK} task: clear "
            f"{PARAMS_TASK} to fix them (with its downstream tasks, which run on them)"
        )
    return params
