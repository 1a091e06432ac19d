"""The DAG folder as Airflow's scheduler loads it: no import errors, the pipeline's tasks and
dependencies follow dvc.yaml's stage graph, schedules, no cycles; a run's stages use the
parameters its first task fixed."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from airflow.exceptions import AirflowTaskTimeout
from airflow.models.dag import DAG
from airflow.models.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.operators.python import PythonOperator
from airflow.utils.context import Context
from airflow.utils.dag_cycle_tester import check_cycle
from airflow.utils.state import DagRunState, TaskInstanceState
from airflow.utils.types import DagRunType

from flight_orchestration import settings
from flight_orchestration.commands import run_params_file
from flight_orchestration.pipeline import (
    BENTO_BUILDER,
    BENTO_TASK,
    ArtifactOperator,
    build_pipeline_dag,
    store_home,
)
from flight_orchestration.pipeline import DAG_ID as PIPELINE
from flight_orchestration.retrain import CHECK_TASK, NO_DRIFT_TASK, TRIGGER_TASK
from flight_orchestration.retrain import DAG_ID as RETRAIN
from flight_orchestration.run_parameters import PARAMS_TASK, RunParamsError
from tests.orchestration.conftest import DAG_FOLDER, SANDBOX_ROOT

# dvc.yaml's graph: a stage runs after the stages that write its deps, the first ones after the
# task that fixes the run's parameters.
PIPELINE_UPSTREAM = {
    PARAMS_TASK: set(),
    "land": {PARAMS_TASK},
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
    assert set(artifacts) | {PARAMS_TASK, BENTO_TASK} == set(dag.task_ids)
    for stage, artifact in artifacts.items():
        assert str(dag.get_task(stage).command.artifact) == artifact  # type: ignore[attr-defined]
    assert dag.get_task(BENTO_TASK).command == BENTO_BUILDER  # type: ignore[attr-defined]


def test_no_task_runs_pants_or_dvc(dag_bag: DagBag) -> None:
    dag = dag_bag.get_dag(PIPELINE)
    assert dag is not None
    for task in dag.tasks:
        if task.task_id == PARAMS_TASK:
            continue
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


def stage_task(dag: DAG, task_id: str) -> ArtifactOperator:
    task = dag.get_task(task_id)
    assert isinstance(task, ArtifactOperator)
    return task


def stage_context(dag: DAG, run: DagRun, task_id: str) -> Context:
    """The context Airflow gives the run's `task_id` as `dag`, a parse of the DAG file, has it."""
    return TaskInstance(dag.get_task(task_id), run_id=run.run_id).get_template_context()


def stand_in_artifacts(
    monkeypatch: pytest.MonkeyPatch, artifacts: Path, workdir: Path, scripts: dict[str, str]
) -> None:
    """A shell script as each service's artifact under `artifacts` (`scripts`: service to the
    script's body), and the DAGs pointed at them and at `workdir`."""
    for service, script in scripts.items():
        entry_point = artifacts / f"services.{service}" / f"{service}.pex" / "__main__.py"
        entry_point.parent.mkdir(parents=True)
        entry_point.write_text(f"#!/bin/sh\n{script}\n")
        entry_point.chmod(0o755)
    for variable, path in (
        (settings.ARTIFACTS_VARIABLE, artifacts),
        (settings.WORKDIR_VARIABLE, workdir),
    ):
        monkeypatch.setenv(settings.environment_variable(variable), str(path))


def manual_run(
    dag: DAG, run_id: str, conf: dict[str, object] | None = None, day: int = 3
) -> DagRun:
    """A running manual run of `dag` for `day` December 2013, with `conf`."""
    logical_date = dt.datetime(2013, 12, day, tzinfo=dt.UTC)
    run: DagRun = dag.create_dagrun(
        run_id=run_id,
        run_type=DagRunType.MANUAL,
        execution_date=logical_date,
        data_interval=(logical_date, logical_date),
        state=DagRunState.RUNNING,
        conf=conf,
    )
    return run


def test_a_runs_stages_use_the_parameters_its_first_task_fixed(
    airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each task computed the run's parameters from params.yaml as parsed for it: one changed
    during a run (a new bundle, a git pull), or a task cleared days later, gave the run's later
    stages other parameters (features' window beside online_store's) and rewrote its file."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(SANDBOX_ROOT / "dvc.yaml", checkout / "dvc.yaml")
    # The repo's parameters with a window the test changes later, whatever params.yaml holds.
    params = yaml.safe_load((SANDBOX_ROOT / "params.yaml").read_text())
    params["features"]["window_days"] = 7
    (checkout / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    artifacts, workdir = tmp_path / "artifacts", tmp_path / "workdir"
    workdir.mkdir()
    # Each artifact records the arguments it was run with.
    records_arguments = "printf '%s\\n' \"$@\" > arguments"
    stand_in_artifacts(
        monkeypatch, artifacts, workdir, {"feature": records_arguments, "train": records_arguments}
    )
    dag_id = "fixed_params_pipeline"
    dag = build_pipeline_dag(checkout, schedule=None, dag_id=dag_id)
    run = manual_run(dag, "manual__2013-12-03", conf={"params": {"train.torch.epochs": 1}})
    first = run.get_task_instance(PARAMS_TASK)
    assert first is not None
    first.task = dag.get_task(PARAMS_TASK)
    first.run()
    fixed = first.xcom_pull(task_ids=PARAMS_TASK)
    assert fixed["features"]["window_days"] == 7
    assert (fixed["train"]["torch"]["epochs"], fixed["land"]["end"]) == (1, "2013-12-03")

    # params.yaml changes mid-run; Airflow parses the DAG file again for the next task.
    params = yaml.safe_load((checkout / "params.yaml").read_text())
    params["features"]["window_days"] = 14
    params["train"]["torch"]["epochs"] = 5
    (checkout / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    reparsed = build_pipeline_dag(checkout, schedule=None, dag_id=dag_id)
    for task_id in ("features", "online_store", "train"):
        stage_task(reparsed, task_id).execute(stage_context(reparsed, run, task_id))
        argv = (workdir / "arguments").read_text().splitlines()
        if task_id != "train":
            assert argv[argv.index("--window-days") + 1] == "7", task_id
        # The run's params file, which train reads, is the run's, not rewritten with the new.
        written = yaml.safe_load(run_params_file(workdir, run.run_id).read_text())
        assert written == fixed, task_id

    # A run whose first task did not run has no parameters: its stages say so, by the task.
    other = manual_run(dag, "manual__2013-12-04", day=4)
    with pytest.raises(RunParamsError, match=f"no parameters from its {PARAMS_TASK} task"):
        stage_task(reparsed, "features").execute(stage_context(reparsed, other, "features"))


def fix_params(dag: DAG, run: DagRun) -> None:
    """Run the run's first task, which fixes its parameters (and directories)."""
    first = run.get_task_instance(PARAMS_TASK)
    assert first is not None
    first.task = dag.get_task(PARAMS_TASK)
    first.run()
    assert first.state == TaskInstanceState.SUCCESS


def test_a_runs_stages_work_in_the_directories_its_first_task_fixed(
    airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each task read the artifacts and working-directory Variables when it ran: one changed
    mid-run (a new release's artifacts, another working directory) ran the run's later stages
    on other code, in a directory without the data its earlier stages wrote, and a task cleared
    days later ran wherever the Variables pointed then."""
    ran = tmp_path / "ran"
    # Each artifact records which artifact ran and in which directory.
    records = f'printf "%s %s\\n" "$0" "$PWD" >> {ran}'
    scripts = {"feature": records, "train": records, "serve": records}
    first_artifacts, first_workdir = tmp_path / "artifacts-1", tmp_path / "workdir-1"
    later_artifacts, later_workdir = tmp_path / "artifacts-2", tmp_path / "workdir-2"
    for workdir in (first_workdir, later_workdir):
        workdir.mkdir()
    stand_in_artifacts(monkeypatch, later_artifacts, later_workdir, scripts)
    stand_in_artifacts(monkeypatch, first_artifacts, first_workdir, scripts)
    dag = build_pipeline_dag(SANDBOX_ROOT, schedule=None, dag_id="fixed_directories_pipeline")
    run = manual_run(dag, "manual__directories")
    fix_params(dag, run)

    stage_task(dag, "features").execute(stage_context(dag, run, "features"))
    # The Variables change mid-run.
    for variable, path in (
        (settings.ARTIFACTS_VARIABLE, later_artifacts),
        (settings.WORKDIR_VARIABLE, later_workdir),
    ):
        monkeypatch.setenv(settings.environment_variable(variable), str(path))
    for task_id in ("train", BENTO_TASK):
        stage_task(dag, task_id).execute(stage_context(dag, run, task_id))
    artifact = "{}/services.{}/{}.pex/__main__.py"
    assert ran.read_text().splitlines() == [
        f"{artifact.format(first_artifacts, service, service)} {first_workdir}"
        for service in ("feature", "train", "serve")
    ]
    assert run_params_file(first_workdir, run.run_id).is_file()
    assert not (later_workdir / "runs").exists()

    # The run's working directory removed: its stages say so, rather than work elsewhere.
    shutil.rmtree(first_workdir)
    with pytest.raises(
        settings.SettingError,
        match=rf"^the run's working directory {re.escape(str(first_workdir))} \(fixed for the run "
        r"by run_params from Airflow Variable flight_delay_workdir or, unset, its default\) is "
        r"gone: restore it, or "
        r"clear run_params and its downstream tasks",
    ):
        stage_task(dag, "train").execute(stage_context(dag, run, "train"))

    # A run started now takes the Variables' new values.
    later = manual_run(dag, "manual__directories-later", day=4)
    fix_params(dag, later)
    stage_task(dag, "train").execute(stage_context(dag, later, "train"))
    assert ran.read_text().splitlines()[-1] == (
        f"{artifact.format(later_artifacts, 'train', 'train')} {later_workdir}"
    )

    # A Variable naming no directory fails the run's first task, naming it, before any stage.
    monkeypatch.setenv(
        settings.environment_variable(settings.WORKDIR_VARIABLE), str(tmp_path / "nowhere")
    )
    broken = manual_run(dag, "manual__directories-broken", day=5)
    first = dag.get_task(PARAMS_TASK)
    assert isinstance(first, PythonOperator)
    with pytest.raises(
        settings.SettingError,
        match=rf"^Airflow Variable flight_delay_workdir: {re.escape(str(tmp_path))}/nowhere is not "
        r"a directory$",
    ):
        first.execute(stage_context(dag, broken, PARAMS_TASK))


def test_a_stage_uses_the_working_directorys_model_store(
    airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The working directory holds the model store. Without BENTOML_HOME, the artifacts took the
    worker's, or the build/bentoml of the nearest directory above the working directory holding
    pants.toml: a scratch working directory inside a clone registered, promoted and built its
    Bento from the clone's store."""
    clone = tmp_path / "clone"
    workdir = clone / "scratch"
    workdir.mkdir(parents=True)
    (clone / "pants.toml").write_text("[GLOBAL]\n")
    artifacts = tmp_path / "artifacts"
    # Each artifact records the store it was given.
    records_store = 'printf %s "$BENTOML_HOME" > store'
    stand_in_artifacts(
        monkeypatch, artifacts, workdir, {"train": records_store, "serve": records_store}
    )
    dag = build_pipeline_dag(SANDBOX_ROOT, schedule=None, dag_id="store_pipeline")
    run = manual_run(dag, "manual__store")
    first = run.get_task_instance(PARAMS_TASK)
    assert first is not None
    first.task = dag.get_task(PARAMS_TASK)
    first.run()
    # The worker's BENTOML_HOME unset (the clone's pants.toml decided), then set elsewhere.
    for worker_home in (None, str(tmp_path / "worker-store")):
        if worker_home is None:
            monkeypatch.delenv("BENTOML_HOME", raising=False)
        else:
            monkeypatch.setenv("BENTOML_HOME", worker_home)
        for task_id in ("evaluate", BENTO_TASK):
            stage_task(dag, task_id).execute(stage_context(dag, run, task_id))
            store = (workdir / "store").read_text()
            assert store == str(store_home(workdir)) == str(workdir / "build" / "bentoml")


def test_a_run_and_each_of_its_tasks_are_bounded_by_the_run_timeout(
    airflow_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing bounded a stage: one hung task held up every later run (one at a time) and,
    counted as pending, every drift retrain."""
    variable = settings.environment_variable(settings.RUN_TIMEOUT_VARIABLE)
    monkeypatch.delenv(variable, raising=False)
    for configured, hours in ((None, 24), ("6", 6), ("0.5", 0.5)):
        if configured is not None:
            monkeypatch.setenv(variable, configured)
        dag = build_pipeline_dag(SANDBOX_ROOT)
        timeout = dt.timedelta(hours=hours)
        assert dag.dagrun_timeout == timeout
        assert {task.task_id: task.execution_timeout for task in dag.tasks} == {
            task_id: timeout for task_id in PIPELINE_UPSTREAM
        }


def test_a_hung_stage_fails_at_the_run_timeout(
    airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow runs a stage whose artifact never ends: the task is killed at the run timeout
    and the run fails, instead of running on."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(SANDBOX_ROOT / "params.yaml", checkout / "params.yaml")
    stages = {"land": {"cmd": "dist/services.ingest/ingest.pex/__main__.py land"}}
    (checkout / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    artifacts, workdir = tmp_path / "artifacts", tmp_path / "workdir"
    workdir.mkdir()
    stand_in_artifacts(
        monkeypatch,
        artifacts,
        workdir,
        {"ingest": "echo $$ > pid; exec sleep 120", "serve": "true"},
    )
    # Three seconds.
    monkeypatch.setenv(settings.environment_variable(settings.RUN_TIMEOUT_VARIABLE), str(3 / 3600))
    dag = build_pipeline_dag(checkout, schedule=None, dag_id="hung_pipeline")
    started = dt.datetime.now(dt.UTC)
    # The task fails, then Airflow re-raises the timeout (a BaseException, which dag.test does
    # not catch; a worker's task process ends on it).
    with pytest.raises(AirflowTaskTimeout):
        dag.test(execution_date=dt.datetime(2013, 12, 3, tzinfo=dt.UTC))
    assert dt.datetime.now(dt.UTC) - started < dt.timedelta(seconds=60)
    (run,) = DagRun.find(dag_id="hung_pipeline")
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert (states[PARAMS_TASK], states["land"]) == (
        TaskInstanceState.SUCCESS,
        TaskInstanceState.FAILED,
    )
    # The artifact was killed with its task.
    status = Path("/proc") / (workdir / "pid").read_text().strip() / "status"
    deadline = time.monotonic() + 10
    while status.exists() and "\nState:\tZ" not in status.read_text():
        assert time.monotonic() < deadline, "the hung artifact still runs"
        time.sleep(0.1)
