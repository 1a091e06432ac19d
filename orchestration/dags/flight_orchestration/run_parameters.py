"""A pipeline run's parameters, fixed when the run starts. The run's first task (PARAMS_TASK)
computes them once: params.yaml, the run conf's `params` overrides and land.end from the logical
date (commands.run_params, which also refuses a bad conf, so the run fails there by name). Its
return value, the parameters, is its XCom, and every stage task takes them from there. Under the
local runner it also fixes the run's working directory and artifacts directory (the Variables
settings.WORKDIR_VARIABLE and settings.ARTIFACTS_VARIABLE), XComs of their own; under the ecs
runner, each stage's task definition at its current revision and the training job's image,
XComs too.

Airflow parses the DAG file again for each task it runs, so a task that computed them itself
would read params.yaml as it is then: one changed while the run is in flight (a new MWAA bundle,
a git pull) would give the run's later stages other parameters than its earlier ones, and a task
cleared days later would run with that day's parameters on outputs built with the run's. The
same holds for the Variables, which a task read when it ran: one changed mid-run ran the run's
later stages on other artifacts, or in a directory without the data its earlier stages wrote.
And a task definition given by its family runs its newest revision when a task starts: one
registered while the run is in flight (a new release of a service's image) ran the run's later
stages on other code than its earlier ones; so did a training image changed mid-run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow.models import Variable
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.operators.python import PythonOperator

from flight_orchestration import settings
from flight_orchestration.commands import run_params
from flight_orchestration.settings import SettingError

PARAMS_TASK = "run_params"
# The XCom keys of the directories PARAMS_TASK fixes for the local runner.
WORKDIR_KEY = "workdir"
ARTIFACTS_KEY = "artifacts"
# The XCom key of the task definition revisions PARAMS_TASK fixes for the ecs runner.
TASK_DEFINITIONS_KEY = "task_definitions"
# The XCom key of the training job's image PARAMS_TASK fixes when training runs on SageMaker.
TRAINING_IMAGE_KEY = "training_image"


class RunParamsError(Exception):
    """A stage task found no parameters fixed for its run."""


def task_definition_revisions(task_definitions: Mapping[str, str]) -> dict[str, str]:
    """Each service's task definition (a family, family:revision or ARN) as the ARN of the
    revision it names now: a family's newest active one."""
    # Imported only for the ecs runner: it needs the Amazon provider, which MWAA's image has and
    # a local Airflow may not.
    from airflow.providers.amazon.aws.hooks.ecs import EcsHook
    from botocore.exceptions import ClientError  # pants: no-infer-dep (the Amazon provider's)

    client = EcsHook().conn
    revisions: dict[str, str] = {}
    for service, definition in task_definitions.items():
        try:
            described = client.describe_task_definition(taskDefinition=definition)
        except ClientError as error:
            raise SettingError(
                f"ECS settings: the {service} service's task definition {definition!r}: "
                f"{error.response.get('Error', {}).get('Message', error)}"
            ) from error
        revisions[service] = str(described["taskDefinition"]["taskDefinitionArn"])
    return revisions


def fix_run_params(
    defaults: dict[str, Any],
    directories: bool,
    dag_run: DagRun,
    logical_date: dt.datetime,
    ti: TaskInstance,
    task_definitions: Mapping[str, str] | None = None,
    training_image: str | None = None,
) -> dict[str, Any]:
    """The run's parameters, returned to be the task's XCom; with `directories`, the run's
    working and artifacts directories too, checked and pushed as XComs; with
    `task_definitions`, the revision of each that the run's stage tasks run, and with
    `training_image` the image its training job runs, pushed as XComs too."""
    params = run_params(defaults, dag_run.conf, logical_date)
    if directories:
        workdir = settings.workdir(Variable.get(settings.WORKDIR_VARIABLE, default_var=None))
        artifacts = settings.artifacts(Variable.get(settings.ARTIFACTS_VARIABLE, default_var=None))
        ti.xcom_push(key=WORKDIR_KEY, value=str(workdir))
        ti.xcom_push(key=ARTIFACTS_KEY, value=str(artifacts))
    if task_definitions is not None:
        ti.xcom_push(key=TASK_DEFINITIONS_KEY, value=task_definition_revisions(task_definitions))
    if training_image is not None:
        ti.xcom_push(key=TRAINING_IMAGE_KEY, value=training_image)
    return params


def params_operator(
    defaults: dict[str, Any],
    directories: bool = True,
    task_definitions: Mapping[str, str] | None = None,
    training_image: str | None = None,
) -> PythonOperator:
    """The run's first task, fixing its parameters from `defaults` (params.yaml as parsed), with
    `directories` (the local runner's) its working and artifacts directories, with
    `task_definitions` (the ecs runner's) the revision of each its stage tasks run, and with
    `training_image` the image of its SageMaker training job."""
    return PythonOperator(
        task_id=PARAMS_TASK,
        python_callable=fix_run_params,
        op_kwargs={
            "defaults": defaults,
            "directories": directories,
            "task_definitions": None if task_definitions is None else dict(task_definitions),
            "training_image": training_image,
        },
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


def the_runs_task_definition(context: Any, service: str) -> str:
    """The task definition revision the run's PARAMS_TASK fixed for `service`'s stages."""
    revisions = context["ti"].xcom_pull(task_ids=PARAMS_TASK, key=TASK_DEFINITIONS_KEY)
    if not isinstance(revisions, dict) or not isinstance(revisions.get(service), str):
        raise _missing(context, f"task definition for the {service} service")
    revision: str = revisions[service]
    return revision


def the_runs_training_image(context: Any) -> str:
    """The training job's image the run's PARAMS_TASK fixed."""
    image = context["ti"].xcom_pull(task_ids=PARAMS_TASK, key=TRAINING_IMAGE_KEY)
    if not isinstance(image, str):
        raise _missing(context, "training image")
    return image
