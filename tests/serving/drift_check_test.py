"""The drift check against the real serve service: a `bentoml serve` process on a loopback port
(conftest.py's world: a model trained on January 2013 and that pipeline output), fed
clearly shifted flights (long-haul only) or unshifted ones (a shuffled sample of the training
flights). The orchestration's drift check reads the service's /metrics and decides: shifted
traffic crosses params.yaml's threshold and retrains, unshifted traffic does not. The last test
runs the real retraining DAG through the Airflow CLI against the drifted service and sees it
trigger a run of the pipeline DAG."""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from flight_orchestration import drift
from serve.drift import WINDOW_ROWS
from tests.serving.conftest import World
from tests.serving.harness import (
    Server,
    as_request,
    params_psi_threshold,
    request_flights,
    scoring_the_first_week,
    server_env,
    service_command,
    serving,
    serving_data,
    store_copy,
    wait_for_rows,
)

# The drift monitor's window: the index is computed over the last ROWS rows a worker scored.
ROWS = WINDOW_ROWS
BATCH = 250
# The drift alert's and the retraining DAG's threshold (params.yaml, at the sandbox root).
THRESHOLD = params_psi_threshold()


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module, with one worker: the drift window is a worker's, and every
    test sends exactly a window of rows (`fill_window`), so each test's traffic replaces all of
    the last one's, in any order."""
    workdir = tmp_path_factory.mktemp("drift-server")
    # The unshifted traffic is the training flights, which leave in the store's first week.
    store = scoring_the_first_week(world.store, workdir / "online.sqlite")
    env = server_env(world.home, serving_data(workdir / "data", world.features, store))
    with serving(service_command(), env, workdir / "server.log", workdir, 1) as running:
        running.wait_ready()
        yield running


def all_flights(world: World) -> pd.DataFrame:
    splits = [
        request_flights(world.features, world.curated, s) for s in ("train", "validation", "test")
    ]
    return pd.concat(splits, ignore_index=True)


def fill_window(
    server: Server, flights: pd.DataFrame, seed: int, worker: int | None = None
) -> None:
    """Send a sample of exactly ROWS of `flights` (repeating some if there are fewer), all to
    the worker `worker` if given."""
    sample = flights.sample(n=ROWS, replace=len(flights) < ROWS, random_state=seed)
    with server.client() if worker is None else server.client_on(worker) as client:
        before = client.get("/metrics").text
        for start in range(0, ROWS, BATCH):
            batch = as_request(sample.iloc[start : start + BATCH])
            response = client.post("/predict", json={"flights": batch})
            assert response.status_code == 200, response.text
            if worker is not None:
                assert server.worker_answering(response) == worker
        wait_for_rows(server, client, before, ROWS)


def test_shifted_traffic_crosses_the_threshold_and_retrains(server: Server, world: World) -> None:
    flights = all_flights(world)
    long_haul = flights[flights["distance"] >= 2000]
    assert len(long_haul) >= 200, "the slice has too few long-haul flights to shift"
    fill_window(server, long_haul, seed=0)
    psi = drift.read_metrics_endpoint(server.url + "/metrics")
    decision = drift.decide(psi, THRESHOLD)
    assert psi["distance"] > THRESHOLD
    assert decision.retrain
    assert "distance" in decision.drifted
    assert decision.reason.startswith(f"drift: PSI above {THRESHOLD}")


def test_unshifted_traffic_does_not_retrain(server: Server, world: World) -> None:
    train = request_flights(world.features, world.curated, "train")
    fill_window(server, train, seed=0)
    psi = drift.read_metrics_endpoint(server.url + "/metrics")
    assert psi, "the service exposed no PSI gauges"
    decision = drift.decide(psi, THRESHOLD)
    assert not decision.retrain, decision.reason
    assert decision.reason.startswith("no drift")


def test_an_idle_workers_drifted_window_does_not_outlast_the_traffic_scored_since(
    world: World, tmp_path: Path
) -> None:
    # Each worker's PSI is over its own window. Exported as the highest over the live workers
    # ("livemax"), a worker that scored drifted traffic and then none held the drift alert on
    # while the other worker scored traffic like the train split.
    store = scoring_the_first_week(world.store, tmp_path / "online.sqlite")
    home = store_copy(world.home, tmp_path / "bentoml")
    env = server_env(home, serving_data(tmp_path / "data", world.features, store))
    flights = all_flights(world)
    train = request_flights(world.features, world.curated, "train")
    with serving(service_command(), env, tmp_path / "server.log", tmp_path, 2) as two:
        two.wait_ready()
        drifted, active = two.worker_pids()
        fill_window(two, flights[flights["distance"] >= 2000], seed=0, worker=drifted)
        assert drift.read_metrics_endpoint(two.url + "/metrics")["distance"] > THRESHOLD
        fill_window(two, train, seed=0, worker=active)
        psi = drift.read_metrics_endpoint(two.url + "/metrics")
        assert two.worker_pids() == [drifted, active]
    decision = drift.decide(psi, THRESHOLD)
    assert not decision.retrain, decision.reason


# The Airflow CLI of the DAGs' own resolve (//orchestration:airflow), and the DAG folder, laid
# out at the sandbox root.
AIRFLOW_PEX = Path("orchestration/airflow.pex")
DAG_FOLDER = Path("orchestration/dags")


def airflow(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(AIRFLOW_PEX), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"airflow {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_drift_on_the_real_service_makes_the_retraining_dag_trigger_the_pipeline(
    server: Server, world: World, tmp_path: Path
) -> None:
    flights = all_flights(world)
    fill_window(server, flights[flights["distance"] >= 2000], seed=1)
    home = tmp_path / "airflow"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FOLDER.resolve()),
        "AIRFLOW_VAR_FLIGHT_DELAY_REPO": str(Path.cwd()),
        "AIRFLOW_VAR_FLIGHT_DELAY_METRICS_URL": server.url + "/metrics",
    }
    airflow(env, "db", "migrate")
    # Both DAGs into the metadata database: the trigger needs its target there.
    airflow(env, "dags", "reserialize")
    # Airflow pauses a DAG when first deployed; the drift check refuses to trigger a paused one.
    airflow(env, "dags", "unpause", "flight_delay_pipeline")
    airflow(env, "dags", "test", "flight_delay_retrain_on_drift", "2013-12-01")
    listed = airflow(env, "dags", "list-runs", "-d", "flight_delay_pipeline", "-o", "json")
    # Airflow logs to stdout too: the JSON is the last line.
    runs = json.loads(listed.strip().splitlines()[-1])
    assert len(runs) == 1, runs
    # The run's conf says why; Airflow 2 stores it pickled in the dag_run table.
    with sqlite3.connect(home / "airflow.db") as db:
        (conf,) = db.execute(
            "SELECT conf FROM dag_run WHERE dag_id = 'flight_delay_pipeline'"
        ).fetchone()
    reason = pickle.loads(conf)["reason"]
    assert reason.startswith(f"drift: PSI above {THRESHOLD} for "), reason
    assert " distance " in reason and reason.endswith(": retraining"), reason
