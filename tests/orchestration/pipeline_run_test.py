"""The pipeline DAG run for real by Airflow (`dag.test()`, SQLite metadata): every task runs its
service's built artifact (packaged by Pants for this test, as for any deployment) in an empty
working directory, on two weeks of January 2013 with small models passed as the run's
parameters. No checkout, no `./pants`, no DVC: the tasks land the logical day, build the
features, train, evaluate, promote (a first run always promotes one, ADR 0008) and build the
Bento. A task that fails leaves the previous outputs as they were, and the run can be retried.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.models.dag import DAG
from airflow.utils.state import DagRunState, TaskInstanceState

from flight_orchestration import settings
from flight_orchestration.pipeline import BENTO_TASK, build_pipeline_dag
from storage.digest import tree_sha256
from tests.orchestration.conftest import SANDBOX_ROOT

STAGES = ("land", "ingest", "features", "online_store", "train", "evaluate")
LOGICAL_DATE = dt.datetime(2013, 1, 14, tzinfo=dt.UTC)
# The run's parameters: two weeks and small models. land.end is the run's to set.
SLICE = {
    "land.start": "2013-01-01",
    "features.split.train_end": "2013-01-07",
    "features.split.validation_end": "2013-01-10",
    "train.torch.epochs": 1,
    "train.torch.batch_size": 256,
    "train.torch.hidden": [16],
    "train.baseline.max_iter": 20,
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, airflow_db: None) -> Iterator[Path]:
    """An empty working directory; the artifacts are those Pants packaged into the sandbox."""
    # A scratch directory inside a clone (a directory holding pants.toml), on a worker whose
    # BENTOML_HOME names another store: the models and the Bento go to the working directory's
    # build/bentoml all the same, neither to the clone's nor to the worker's.
    clone = tmp_path_factory.mktemp("clone")
    (clone / "pants.toml").write_text("[GLOBAL]\n")
    directory = clone / "workdir"
    directory.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.environment_variable(settings.ARTIFACTS_VARIABLE), str(SANDBOX_ROOT))
        patch.setenv(settings.environment_variable(settings.WORKDIR_VARIABLE), str(directory))
        patch.setenv("BENTOML_HOME", str(clone / "worker-store"))
        yield directory


# The tasks a clear of `features` and its downstream leaves alone: the first run did them with
# the same parameters.
NOT_AFTER_FEATURES = "^(land|ingest|online_store)$"


def run_states(
    dag: DAG, params: dict[str, Any], already_done: str | None = None
) -> tuple[DagRunState, dict[str, Any]]:
    """Run the DAG once; the tasks `already_done` matches are marked successful, not run, as
    when an operator clears a failed task and its downstream."""
    run = dag.test(
        execution_date=LOGICAL_DATE,
        run_conf={"params": params},
        mark_success_pattern=already_done,
    )
    return run.state, {ti.task_id: ti.state for ti in run.get_task_instances()}


@pytest.fixture(scope="module")
def first_run(workdir: Path) -> tuple[DAG, DagRunState, dict[str, Any], bytes]:
    params_before = (SANDBOX_ROOT / "params.yaml").read_bytes()
    dag = build_pipeline_dag(SANDBOX_ROOT)
    state, states = run_states(dag, SLICE)
    return dag, state, states, params_before


@pytest.mark.timeout(1200)
def test_the_dag_runs_every_stage_on_the_artifacts_with_the_runs_parameters(
    workdir: Path, first_run: tuple[DAG, DagRunState, dict[str, Any], bytes]
) -> None:
    _, state, states, params_before = first_run
    assert state == DagRunState.SUCCESS, states
    for task in STAGES:
        assert states[task] == TaskInstanceState.SUCCESS, (task, states)
    landed = sorted(p.name for p in (workdir / "data/landing/flights").iterdir())
    assert landed == [f"2013-01-{day:02d}.csv" for day in range(1, 15)]
    summary = json.loads((workdir / "data/features/summary.json").read_text())
    assert all(summary["rows_per_split"][s] > 0 for s in ("train", "validation", "test"))
    assert (workdir / "data/online_store/online.sqlite").is_file()
    metrics = json.loads((workdir / "data/evaluation/metrics.json").read_text())
    assert {"baseline", "torch"} <= set(metrics)
    training = json.loads((workdir / "data/models/training.json").read_text())
    assert training["params"]["torch"]["epochs"] == 1
    # The run's parameters went to a file of its own; the pipeline's params.yaml is unchanged.
    (run_params,) = (workdir / "runs").glob("*/params.yaml")
    assert yaml.safe_load(run_params.read_text())["land"]["end"] == "2013-01-14"
    assert (SANDBOX_ROOT / "params.yaml").read_bytes() == params_before


def bentos(workdir: Path) -> list[dict[str, Any]]:
    files = (workdir / "build/bentoml/bentos").glob("*/*/bento.yaml")
    return sorted((yaml.safe_load(f.read_text()) for f in files), key=lambda b: b["creation_time"])


@pytest.mark.timeout(600)
def test_the_first_run_promotes_a_model_and_builds_its_bento(
    workdir: Path, first_run: tuple[DAG, DagRunState, dict[str, Any], bytes]
) -> None:
    _, _, states, _ = first_run
    registry = json.loads((workdir / "data/evaluation/registry.json").read_text())
    assert registry["decision"]["reason"].endswith("nothing was promoted yet")
    assert states[BENTO_TASK] == TaskInstanceState.SUCCESS
    (bento,) = bentos(workdir)
    served = [model["tag"] for service in bento["services"] for model in service["models"]]
    assert served == [registry["promoted"]]
    # Nothing went to the clone's store or the worker's.
    assert sorted(p.name for p in workdir.parent.iterdir()) == ["pants.toml", "workdir"]


@pytest.mark.timeout(1200)
def test_a_failed_task_leaves_the_outputs_and_a_retry_succeeds(
    workdir: Path, first_run: tuple[DAG, DagRunState, dict[str, Any], bytes]
) -> None:
    """The feature service refuses a validation split that ends before the train split: the
    task fails, the previous feature table stays whole, nothing after it runs; the same run
    with good parameters then succeeds. Both runs redo the features task and what follows it, as a
    clear of that task does: the first run landed, ingested and stored the same days."""
    dag, _, _, _ = first_run
    features_before = tree_sha256(workdir / "data/features")
    bad = {**SLICE, "features.split.validation_end": "2013-01-05"}
    state, states = run_states(dag, bad, NOT_AFTER_FEATURES)
    assert state == DagRunState.FAILED
    assert states["features"] == TaskInstanceState.FAILED
    assert states["train"] == TaskInstanceState.UPSTREAM_FAILED
    assert tree_sha256(workdir / "data/features") == features_before
    assert not list((workdir / "data").glob("features*.partial"))
    state, states = run_states(dag, SLICE, NOT_AFTER_FEATURES)
    assert state == DagRunState.SUCCESS, states
    assert states["features"] == states[BENTO_TASK] == TaskInstanceState.SUCCESS
    assert tree_sha256(workdir / "data/features") == features_before
