"""The pipeline DAG run for real by Airflow (`dag.test()`, SQLite metadata) in a throwaway copy
of the repo, on two weeks of January 2013 with small models: the land window is set to the
run's logical date, every DVC stage runs through `./pants run //:dvc -- repro --single-item`,
and the Bento is built from the model the gate promoted (a first run always promotes one,
docs/adr/0008-first-promotion.md). A second run of the same day finds every stage up to date
(DVC's cache, not the DAG's, decides)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from airflow.models.dag import DAG
from airflow.utils.state import DagRunState, TaskInstanceState

from flight_orchestration import settings
from flight_orchestration.pipeline import BENTO_TASK, SET_WINDOW_TASK, build_pipeline_dag
from tests.build.repo_copy import GIT_IDENTITY, RepoCopy

STAGES = ("land", "ingest", "features", "online_store", "train", "evaluate")
LOGICAL_DATE = dt.datetime(2013, 1, 14, tzinfo=dt.UTC)
# Groups replace the keys they name in the repo's params.yaml. land.end is the DAG's to set.
SLICE_PARAMS: dict[str, dict[str, Any]] = {
    "land": {"start": "2013-01-01", "end": "2013-01-02"},
    "features": {
        "split": {"train_end": "2013-01-07", "validation_end": "2013-01-10"},
        "window_days": 7,
    },
    "train": {
        "torch": {"epochs": 1, "batch_size": 256, "hidden": [16]},
        "baseline": {"max_iter": 20},
    },
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, airflow_db: None) -> Iterator[RepoCopy]:
    copy = RepoCopy.create(tmp_path_factory.mktemp("pipeline") / "repo")
    params = yaml.safe_load((copy.root / "params.yaml").read_text())
    for group, values in SLICE_PARAMS.items():
        params[group] = {**params[group], **values}
    copy.write("params.yaml", yaml.safe_dump(params, sort_keys=False))
    copy.commit("test slice")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.environment_variable(settings.REPO_VARIABLE), str(copy.root))
        patch.setenv("PANTS_DYNAMIC_UI", "false")
        # The Bento and the models go to the copy's build/bentoml, the default home.
        patch.delenv("BENTOML_HOME", raising=False)
        for name, value in GIT_IDENTITY.items():
            patch.setenv(name, value)
        yield copy


def run_states(dag: DAG) -> tuple[DagRunState, dict[str, Any]]:
    run = dag.test(execution_date=LOGICAL_DATE)
    return run.state, {ti.task_id: ti.state for ti in run.get_task_instances()}


@pytest.fixture(scope="module")
def first_run(repo: RepoCopy) -> tuple[DAG, DagRunState, dict[str, Any]]:
    dag = build_pipeline_dag(repo.root)
    state, states = run_states(dag)
    return dag, state, states


@pytest.mark.timeout(2400)
def test_the_dag_runs_every_stage_and_lands_the_logical_day(
    repo: RepoCopy, first_run: tuple[DAG, DagRunState, dict[str, Any]]
) -> None:
    _, state, states = first_run
    assert state == DagRunState.SUCCESS, states
    for task in (SET_WINDOW_TASK, *STAGES):
        assert states[task] == TaskInstanceState.SUCCESS, (task, states)
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    assert params["land"]["end"] == "2013-01-14"
    landed = sorted(p.name for p in (repo.root / "data/landing/flights").iterdir())
    assert landed == [f"2013-01-{day:02d}.csv" for day in range(1, 15)]
    summary = json.loads((repo.root / "data/features/summary.json").read_text())
    assert all(summary["rows_per_split"][s] > 0 for s in ("train", "validation", "test"))
    assert (repo.root / "data/online_store/online.sqlite").is_file()
    metrics = json.loads((repo.root / "data/evaluation/metrics.json").read_text())
    assert {"baseline", "torch"} <= set(metrics)
    # dvc.lock records every stage: DVC ran them, not the DAG.
    lock = yaml.safe_load((repo.root / "dvc.lock").read_text())
    assert set(STAGES) <= set(lock["stages"])
    assert lock["stages"]["land"]["cmd"].endswith("--end 2013-01-14 --landing data/landing")


def bentos(repo: RepoCopy) -> list[dict[str, Any]]:
    files = (repo.root / "build/bentoml/bentos").glob("*/*/bento.yaml")
    return sorted((yaml.safe_load(f.read_text()) for f in files), key=lambda b: b["creation_time"])


def served_models(bento: dict[str, Any]) -> list[str]:
    return [model["tag"] for service in bento["services"] for model in service["models"]]


def promoted_tags(repo: RepoCopy) -> list[str]:
    files = (repo.root / "build/bentoml/models/flight-delay").glob("*/model.yaml")
    return [
        f"flight-delay:{model['version']}"
        for model in (yaml.safe_load(f.read_text()) for f in files)
        if model["labels"]["stage"] == "promoted"
    ]


@pytest.mark.timeout(600)
def test_the_first_run_promotes_a_model_and_builds_its_bento(
    repo: RepoCopy, first_run: tuple[DAG, DagRunState, dict[str, Any]]
) -> None:
    _, _, states = first_run
    models = sorted((repo.root / "build/bentoml/models/flight-delay").glob("*/model.yaml"))
    roles = sorted(yaml.safe_load(m.read_text())["labels"]["role"] for m in models)
    assert roles == ["baseline", "candidate"]
    registry = json.loads((repo.root / "data/evaluation/registry.json").read_text())
    assert registry["decision"]["reason"].endswith("nothing was promoted yet")
    assert promoted_tags(repo) == [registry["promoted"]]
    assert states[BENTO_TASK] == TaskInstanceState.SUCCESS
    (bento,) = bentos(repo)
    assert served_models(bento) == [registry["promoted"]]


@pytest.mark.timeout(1200)
def test_a_second_run_of_the_day_finds_every_stage_up_to_date(
    repo: RepoCopy, first_run: tuple[DAG, DagRunState, dict[str, Any]]
) -> None:
    dag, _, first_states = first_run
    lock = (repo.root / "dvc.lock").read_text()
    state, states = run_states(dag)
    assert state == DagRunState.SUCCESS, states
    assert states == first_states
    assert (repo.root / "dvc.lock").read_text() == lock


@pytest.mark.timeout(1200)
def test_a_gate_param_change_reruns_only_evaluate_and_the_new_model_gets_a_bento(
    repo: RepoCopy, first_run: tuple[DAG, DagRunState, dict[str, Any]]
) -> None:
    """A margin of -1 lets the candidate through (its ROC-AUC beats every reference by at least
    -1): evaluate re-runs and promotes it over the first run's model, and the DAG builds a Bento
    of the newly promoted model."""
    dag, _, _ = first_run
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    params["promote"]["margin"] = -1.0
    repo.write("params.yaml", yaml.safe_dump(params, sort_keys=False))
    before = yaml.safe_load((repo.root / "dvc.lock").read_text())["stages"]
    state, states = run_states(dag)
    assert state == DagRunState.SUCCESS, states
    assert states[BENTO_TASK] == TaskInstanceState.SUCCESS
    after = yaml.safe_load((repo.root / "dvc.lock").read_text())["stages"]
    assert {name for name in after if after[name] != before[name]} == {"evaluate"}
    registry = json.loads((repo.root / "data/evaluation/registry.json").read_text())
    assert registry["promoted"] == registry["candidate"], registry["decision"]
    # Every run builds the Bento of the model then promoted; the newest serves the candidate.
    first, *_, newest = bentos(repo)
    assert served_models(newest) == [registry["candidate"]]
    assert served_models(first) != served_models(newest)
