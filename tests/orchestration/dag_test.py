"""The DAG folder as Airflow's scheduler loads it: no import errors, the pipeline's tasks and
dependencies follow dvc.yaml's stage graph, schedules, no cycles."""

from __future__ import annotations

import pytest
from airflow.models.dagbag import DagBag
from airflow.utils.dag_cycle_tester import check_cycle

from flight_orchestration.pipeline import BENTO_BUILDER, BENTO_TASK
from flight_orchestration.pipeline import DAG_ID as PIPELINE
from flight_orchestration.retrain import CHECK_TASK, NO_DRIFT_TASK, TRIGGER_TASK
from flight_orchestration.retrain import DAG_ID as RETRAIN
from tests.orchestration.conftest import DAG_FOLDER

# dvc.yaml's graph: a stage runs after the stages that write its deps.
PIPELINE_UPSTREAM = {
    "land": set(),
    "ingest": {"land"},
    "features": {"ingest"},
    "online_store": {"ingest"},
    "train": {"features"},
    "evaluate": {"features", "train"},
    BENTO_TASK: {"evaluate", "online_store"},
}


@pytest.fixture(scope="module")
def dag_bag(airflow_db: None) -> DagBag:
    return DagBag(dag_folder=str(DAG_FOLDER), include_examples=False)


def test_the_dag_folder_imports_without_errors(dag_bag: DagBag) -> None:
    assert dag_bag.import_errors == {}
    assert set(dag_bag.dag_ids) == {PIPELINE, RETRAIN}


def test_the_pipeline_has_a_task_per_dvc_stage_in_the_stage_graph(dag_bag: DagBag) -> None:
    dag = dag_bag.get_dag(PIPELINE)
    assert dag is not None
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == PIPELINE_UPSTREAM
    check_cycle(dag)
    artifacts = {
        "land": "services.ingest/ingest.pex",
        "ingest": "services.ingest/ingest.pex",
        "features": "services.feature/feature.pex",
        "online_store": "services.feature/feature.pex",
        "train": "services.train/train.pex",
        "evaluate": "services.train/train.pex",
    }
    for stage, artifact in artifacts.items():
        assert str(dag.get_task(stage).command.artifact) == artifact  # type: ignore[attr-defined]
    assert dag.get_task(BENTO_TASK).command == BENTO_BUILDER  # type: ignore[attr-defined]


def test_no_task_runs_pants_or_dvc(dag_bag: DagBag) -> None:
    dag = dag_bag.get_dag(PIPELINE)
    assert dag is not None
    for task in dag.tasks:
        words = " ".join(task.command.args)  # type: ignore[attr-defined]
        assert "pants" not in words and "dvc" not in words, task.task_id


def test_the_pipeline_runs_daily_one_run_at_a_time(dag_bag: DagBag) -> None:
    dag = dag_bag.get_dag(PIPELINE)
    assert dag is not None
    assert dag.schedule_interval == "@daily"
    assert not dag.catchup
    # Runs share the working directory's data.
    assert dag.max_active_runs == 1


def test_the_retrain_dag_branches_to_the_trigger_or_not_hourly(dag_bag: DagBag) -> None:
    dag = dag_bag.get_dag(RETRAIN)
    assert dag is not None
    check_cycle(dag)
    assert dag.schedule_interval == "@hourly"
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == {
        CHECK_TASK: set(),
        TRIGGER_TASK: {CHECK_TASK},
        NO_DRIFT_TASK: {CHECK_TASK},
    }
    assert dag.get_task(TRIGGER_TASK).trigger_dag_id == PIPELINE  # type: ignore[attr-defined]
