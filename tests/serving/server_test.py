"""The serve service as a real server on a loopback port, exercised over HTTP. One server for
the module: it starts before the online store exists (readiness must say 503), then the store
appears and the server becomes ready."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from feature_definitions.features import FEATURE_COLUMNS
from model_registry.predictor import load_predictor
from model_registry.store import open_store
from serve.schema import MAX_FLIGHTS
from tests.serving.conftest import World
from tests.serving.harness import (
    Server,
    as_request,
    request_flights,
    server_env,
    service_command,
    serving,
)


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("server")
    store = workdir / "online_store" / "online.sqlite"
    env = server_env(world.home, store, world.features / "stats.json")
    with serving(service_command(), env, workdir / "server.log", workdir) as running:
        running.wait("/livez", 200)
        # Alive, but the online store is not there yet: not ready, and /predict says so.
        with running.client() as client:
            assert client.get("/readyz").status_code == 503
            flight = as_request(request_flights(world.features, world.curated).iloc[:1])
            assert client.post("/predict", json={"flights": flight}).status_code == 503
            assert "\nflight_delay_ready 0.0\n" in client.get("/metrics").text
        store.parent.mkdir()
        shutil.copy(world.store, store)
        running.wait("/readyz", 200)
        yield running


@pytest.fixture(scope="module")
def test_flights(world: World) -> pd.DataFrame:
    return request_flights(world.features, world.curated)


@pytest.fixture(scope="module")
def one_flight(test_flights: pd.DataFrame) -> dict[str, Any]:
    return as_request(test_flights.iloc[:1])[0]


def test_predictions_come_in_order_from_the_promoted_model(
    server: Server, world: World, test_flights: pd.DataFrame
) -> None:
    flights = test_flights.iloc[:200]
    with server.client() as client:
        response = client.post("/predict", json={"flights": as_request(flights)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == world.tag
    model = open_store(world.home).get(world.tag)
    predictor = load_predictor(Path(model.path))
    offline = pd.read_parquet(world.features / "test.parquet").iloc[:200]
    expected = predictor.predict_proba(offline)
    got = np.array([p["delay_probability"] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert [p["delayed"] for p in body["predictions"]] == [
        bool(p >= predictor.threshold) for p in got
    ]


def test_features_over_http_equal_the_offline_features(
    server: Server, world: World, test_flights: pd.DataFrame
) -> None:
    flights = test_flights.iloc[:300]
    with server.client() as client:
        response = client.post("/features", json={"flights": as_request(flights)})
    assert response.status_code == 200, response.text
    online = pd.DataFrame(response.json())[list(FEATURE_COLUMNS)]
    offline = pd.read_parquet(world.features / "test.parquet").iloc[:300]
    for column in FEATURE_COLUMNS:
        assert online[column].tolist() == offline[column].tolist(), column


def test_metrics_say_ready(server: Server) -> None:
    # The gauge the ServeNotReady alert (infra/monitoring) reads: 0 while loading, then 1.
    with server.client() as client:
        metrics = client.get("/metrics").text
    assert "\nflight_delay_ready 1.0\n" in metrics


def test_unseen_carrier_and_plane_fall_back(server: Server, one_flight: dict[str, Any]) -> None:
    flights = [
        {**one_flight, "carrier": "ZZ"},
        {**one_flight, "tailnum": "N0NE"},
        {**one_flight, "tailnum": None},
    ]
    with server.client() as client:
        response = client.post("/features", json={"flights": flights})
        assert response.status_code == 200, response.text
        features = response.json()
        assert client.post("/predict", json={"flights": flights}).status_code == 200
    # A new carrier has no history; an unknown plane gets the fleet's typical attributes.
    assert features[0]["carrier_trailing_flights"] == 0
    assert features[0]["carrier_trailing_delay_rate"] == 0.0
    assert [f["plane_known"] for f in features[1:]] == [0, 0]
    assert [f["seats"] for f in features[1:]] == [149, 149]


def _without(flight: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in flight.items() if k != field}


BAD_REQUESTS: dict[str, tuple[Any, str]] = {
    # name: (body, or a function of one valid flight giving the body; a string the error names)
    "malformed JSON": (b'{"flights": [', "json_invalid"),
    "no body fields": ({}, "flights"),
    "flights not a list": ({"flights": 3}, "flights"),
    "extra top-level field": (lambda f: {"flights": [f], "debug": True}, "debug"),
    "empty list": ({"flights": []}, "flights"),
    "missing field": (lambda f: {"flights": [_without(f, "dest")]}, "dest"),
    "missing tailnum": (lambda f: {"flights": [_without(f, "tailnum")]}, "tailnum"),
    "extra field": (lambda f: {"flights": [{**f, "gate": "B7"}]}, "gate"),
    "wrong type": (lambda f: {"flights": [{**f, "distance": "far"}]}, "distance"),
    "wrong type int": (lambda f: {"flights": [{**f, "flight": [1]}]}, "flight"),
    "unknown origin": (lambda f: {"flights": [{**f, "origin": "BOS"}]}, "origin"),
    "unknown destination": (lambda f: {"flights": [f, {**f, "dest": "XYZ"}]}, "flights.1.dest"),
    "bad time_hour": (lambda f: {"flights": [{**f, "time_hour": "yesterday"}]}, "time_hour"),
    "time_hour not on the hour": (
        lambda f: {"flights": [{**f, "time_hour": "2013-01-12T10:30:00Z"}]},
        "time_hour",
    ),
    "departure minutes out of range": (
        lambda f: {"flights": [{**f, "sched_dep_time": 1261}]},
        "sched_dep_time",
    ),
    "arrival hour out of range": (
        lambda f: {"flights": [{**f, "sched_arr_time": 2400}]},
        "sched_arr_time",
    ),
    "negative time": (lambda f: {"flights": [{**f, "sched_dep_time": -5}]}, "sched_dep_time"),
    "over the batch limit": (lambda f: {"flights": [f] * (MAX_FLIGHTS + 1)}, "flights"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
@pytest.mark.parametrize("endpoint", ["/predict", "/features"])
def test_bad_input_gets_a_4xx_naming_the_field(
    server: Server, one_flight: dict[str, Any], case: str, endpoint: str
) -> None:
    body, named = BAD_REQUESTS[case]
    if callable(body):
        body = body(one_flight)
    with server.client() as client:
        if isinstance(body, bytes):
            response = client.post(
                endpoint, content=body, headers={"content-type": "application/json"}
            )
        else:
            response = client.post(endpoint, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert named in response.text


def test_the_model_call_refuses_incomplete_feature_rows(server: Server) -> None:
    with server.client() as client:
        response = client.post("/score", json={"rows": [{"carrier": "UA", "distance": 10.0}]})
    assert response.status_code == 400, response.text
    assert "lacks column(s)" in response.text and "origin" in response.text


def test_metrics_count_requests_and_watch_predictions_and_drift(
    server: Server, test_flights: pd.DataFrame
) -> None:
    with server.client() as client:
        assert (
            client.post(
                "/predict", json={"flights": as_request(test_flights.iloc[:50])}
            ).status_code
            == 200
        )
        metrics = client.get("/metrics").text
    lines = metrics.splitlines()
    assert any(
        line.startswith("bentoml_service_request_total") and 'endpoint="/predict"' in line
        for line in lines
    )
    assert any(line.startswith("bentoml_service_request_duration_seconds_bucket") for line in lines)
    count = [line for line in lines if line.startswith("flight_delay_probability_count")]
    assert count and float(count[0].split()[-1]) >= 50
    psi = {
        line.split('feature="')[1].split('"')[0]: float(line.split()[-1])
        for line in lines
        if line.startswith("flight_delay_feature_psi{")
    }
    assert set(psi) == set(FEATURE_COLUMNS)
    assert all(np.isfinite(v) and v >= 0 for v in psi.values())


def test_liveness(server: Server) -> None:
    with server.client() as client:
        assert client.get("/livez").status_code == 200
        assert client.get("/readyz").status_code == 200


def _metric(lines: list[str], name: str, label: str) -> float:
    return sum(float(line.split()[-1]) for line in lines if line.startswith(name) and label in line)


def test_concurrent_requests_share_batched_model_calls(
    server: Server, test_flights: pd.DataFrame
) -> None:
    flights = as_request(test_flights.iloc[:32])

    def predict(i: int) -> int:
        with server.client() as client:
            return client.post("/predict", json={"flights": [flights[i]]}).status_code

    with server.client() as client:
        before = client.get("/metrics").text.splitlines()
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(predict, range(len(flights))))
    with server.client() as client:
        after = client.get("/metrics").text.splitlines()
    assert statuses == [200] * len(flights)
    label = 'method_name="score"'
    calls = _metric(after, "bentoml_service_adaptive_batch_size_count", label) - _metric(
        before, "bentoml_service_adaptive_batch_size_count", label
    )
    requests = _metric(after, "bentoml_service_adaptive_batch_size_sum", label) - _metric(
        before, "bentoml_service_adaptive_batch_size_sum", label
    )
    assert requests == len(flights)
    # Every request went through the batching dispatcher, in no more calls than requests.
    assert 1 <= calls <= requests
