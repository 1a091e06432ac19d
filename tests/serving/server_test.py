"""The serve service as a real server on a loopback port, exercised over HTTP. One server for
the module: it starts before the online store exists (readiness must say 503), then the store
appears and the server becomes ready."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV30SpecValidator  # pants: no-infer-dep (moto's)

from feature_definitions.drift_monitoring import NOT_DRIFT_MONITORED
from feature_definitions.features import FEATURE_COLUMNS
from loopback.processes import wait_until
from model_registry.predictor import load_predictor
from model_registry.store import get, open_store
from online_store.store import OnlineStore
from serve.drift import WINDOW_ROWS
from serve.limits import LARGEST_FLIGHT, MAX_BODY_BYTES, MAX_FLIGHTS
from serve.metrics import MULTIPROC_DIR, REFUSAL_REASONS
from serve.schema import ORIGINS
from serve.testing import departure, leaving_at, written
from tests.serving.conftest import World
from tests.serving.harness import (
    DECOYS,
    SERVE_ARTIFACT,
    Server,
    as_request,
    deliver_store,
    metric_total,
    params_psi_threshold,
    plant_decoys,
    request_flights,
    server_env,
    service_command,
    serving,
    serving_data,
    store_copy,
    wait_for_rows,
    without_weather_at,
)


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("server")
    plant_decoys(workdir)
    # A shell's PYTHONPATH naming them too (the PEX ignores it; the server it starts must), and
    # a BentoML configuration named relative to where the server starts (its workers run in the
    # artifact's code directory, so it must be named absolutely for them).
    (workdir / "bentoml.yaml").write_text("{}\n")
    env = {
        **server_env(world.home, serving_data(workdir, world.features)),
        "PYTHONPATH": str(workdir),
        "BENTOML_CONFIG": "bentoml.yaml",
    }
    with serving(service_command(), env, workdir / "server.log", workdir) as running:
        running.wait("/livez", 200)
        # Alive, but the online store is not there yet: not ready.
        with running.client() as client:
            waiting = client.get("/readyz")
            assert waiting.status_code == 503 and waiting.json()["status"] == "loading"
            assert "\nflight_delay_ready 0.0\n" in client.get("/metrics").text
            # A request to a worker still loading waits for the load (READY_WAIT_SECONDS), not
            # a 503 at once: a load balancer may have seen another worker ready.
            flight = as_request(request_flights(world.features, world.curated).iloc[:1])
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(client.post, "/predict", json={"flights": flight})
                time.sleep(1)
                assert not pending.done()
                deliver_store(world.store, workdir)
                assert pending.result(timeout=60).status_code == 200
        running.wait_ready()
        yield running


def test_the_server_runs_the_serve_artifact_not_the_sources_beside_the_tests(
    server: Server,
) -> None:
    # `bentoml serve` runs on the interpreter of the artifact's venv, which holds its code.
    command = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().split(b"\0")
    venv = Path(command[0].decode()).parent.parent
    services = list(venv.glob("lib/python*/site-packages/serve/service.py"))
    assert len(services) == 1, f"{venv} holds no serve service: not the artifact's venv"
    assert services[0].read_bytes() == (SERVE_ARTIFACT / "serve" / "service.py").read_bytes()
    # It was started where packages named as its code and its libraries fail on import (the
    # fixture's decoys, also on its PYTHONPATH), as a checkout's `services/serve/` would offer
    # it the sources: it serves, so it imported none of them.
    started_in = Path(os.readlink(f"/proc/{server.process.pid}/cwd"))
    assert sorted(p.parent.name for p in started_in.glob("*/__init__.py")) == sorted(DECOYS)


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    """One kept-alive client for the property's thousands of requests: a new httpx.Client loads
    the CA bundle (about 17 ms here), which was most of each example's time."""
    with server.client() as client:
        yield client


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
    model = get(open_store(world.home), world.tag)
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


def test_metrics_say_every_worker_is_ready(server: Server) -> None:
    # The gauges the ServeNotReady alert (infra/monitoring) and the dashboard read: ready is 0
    # while loading, then 1, over the workers that have started; the workers gauge counts them.
    # wait_ready waits for both: the ready gauge alone reads 1 before the second worker has
    # started, and 0 once it has (the likely cause of one failure, docs/benchmarks.md).
    with server.client() as client:
        metrics = client.get("/metrics").text
    gauges = [
        line
        for line in metrics.splitlines()
        if line.startswith(("flight_delay_ready ", "flight_delay_workers "))
    ]
    assert sorted(gauges) == [
        "flight_delay_ready 1.0",
        f"flight_delay_workers {float(server.workers)}",
    ], f"{gauges}; server log:\n{server.log.read_text()[-4000:]}"


def test_metrics_carry_the_psi_threshold_of_the_statistics(server: Server, world: World) -> None:
    # The series the FeatureDrift alert and the dashboard compare the PSI with: params.yaml's
    # value, as the feature build wrote it into the stats.json the server loaded.
    with server.client() as client:
        metrics = client.get("/metrics").text
    (value,) = re.findall(r"^flight_delay_psi_threshold ([^ ]+)$", metrics, re.MULTILINE)
    stats = json.loads((world.features / "stats.json").read_text())
    assert float(value) == stats["psi_threshold"] == params_psi_threshold()


def test_a_second_server_on_its_store_is_refused_and_the_first_keeps_its_metrics(
    server: Server, world: World, tmp_path: Path
) -> None:
    # Before, it started: BentoML emptied the store's metrics directory, and the first server's
    # /metrics read flight_delay_ready 0 (a false ServeNotReady) with its counts gone.
    env = server_env(world.home, serving_data(tmp_path, world.features, world.store))
    second = subprocess.run(
        [*service_command(), "--port", "0"], env=env, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"a server runs on the model store {world.home} (workers " in second.stderr
    assert "another BENTOML_HOME" in second.stderr
    with server.client() as client:
        metrics = client.get("/metrics").text
    assert "\nflight_delay_ready 1.0\n" in metrics
    assert f"\nflight_delay_workers {float(server.workers)}\n" in metrics


def test_metrics_carry_the_online_stores_data_horizon(server: Server, world: World) -> None:
    # What the dashboard shows beside the refusals past it (ADR 0018), to the second: the
    # earliest horizon of an origin with weather, up to which those origins' flights are scored.
    with server.client() as client:
        metrics = client.get("/metrics").text
    (value,) = re.findall(
        r"^flight_delay_data_horizon_timestamp_seconds ([^ ]+)$", metrics, re.MULTILINE
    )
    assert float(value) == OnlineStore(world.store).earliest_horizon.timestamp()
    assert "\nflight_delay_origins_without_weather 0.0\n" in metrics


def test_the_horizon_gauges_when_one_stations_weather_stopped_and_one_origin_has_none(
    world: World, tmp_path: Path
) -> None:
    # The world's origins all have weather up to its flights, so the gauge there is the flights
    # horizon too; before, serve exported that one even with JFK's weather two days short. LGA,
    # with no weather at all, has no horizon: left out of that gauge, counted by its own.
    store = tmp_path / "online.sqlite"
    shutil.copy(world.store, store)
    flights_horizon = OnlineStore(store).horizon
    stopped = (flights_horizon - pd.Timedelta(days=2)).floor("h")
    with closing(sqlite3.connect(store)) as db, db:
        db.execute(
            "DELETE FROM weather WHERE origin = 'JFK' AND time_hour > ?", (int(stopped.value),)
        )
        db.execute("DELETE FROM weather WHERE origin = 'LGA'")
    jfk = stopped + pd.Timedelta(minutes=59)
    assert OnlineStore(store).earliest_horizon == jfk
    assert OnlineStore(store).weatherless == ("LGA",)
    data = serving_data(tmp_path / "data", world.features, store)
    env = server_env(store_copy(world.home, tmp_path / "home"), data)
    log = tmp_path / "server.log"
    with serving(service_command(), env, log, tmp_path, 1) as running:
        running.wait_ready()
        with running.client() as client:
            metrics = client.get("/metrics").text
    (value,) = re.findall(
        r"^flight_delay_data_horizon_timestamp_seconds ([^ ]+)$", metrics, re.MULTILINE
    )
    assert float(value) == jfk.timestamp() < flights_horizon.timestamp()
    assert "\nflight_delay_origins_without_weather 1.0\n" in metrics
    assert "the online store holds no weather at LGA: every flight from there is refused" in (
        log.read_text()
    )


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
    "unknown destination": (lambda f: {"flights": [f, {**f, "dest": "XYZ"}]}, "unknown airport"),
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
    # Valid ISO-8601 that pandas' nanosecond timestamps cannot hold: once a 500.
    "time_hour in year 1": (
        lambda f: {"flights": [{**f, "time_hour": "0001-01-01T00:00:00Z"}]},
        "time_hour",
    ),
    "departure past the data horizon": (
        lambda f: {"flights": [leaving_at(f, dt.datetime(2013, 2, 1, 15, tzinfo=dt.UTC))]},
        "past_data_horizon",
    ),
    # The serve README's example once: a week before the test store's data start plus window.
    "departure before the data start plus the window": (
        lambda f: {"flights": [leaving_at(f, dt.datetime(2013, 1, 1, 10, 15, tzinfo=dt.UTC))]},
        "before_data_start",
    ),
    "time_hour in year 9999": (
        lambda f: {"flights": [{**f, "time_hour": "9999-12-31T23:00:00"}]},
        "time_hour",
    ),
    # 1e400 is valid JSON that parses to infinity (httpx would not send it, hence the bytes).
    "distance not finite": (lambda f: written(f, "distance", "1e400"), "distance"),
    # Before, read as the last one given: scored as AA.
    "duplicated key": (lambda f: written(f, "flight", '1, "carrier": "AA"'), "carrier"),
    # Before, refused as invalid JSON without naming the field.
    "number too long": (lambda f: written(f, "flight", "1" * 4301), "flight"),
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
    # One shape: pydantic's errors as BentoML answers them, each naming its field in `loc`.
    answer = response.json()
    assert isinstance(answer, dict) and set(answer) == {"error", "detail"}, response.text
    assert all({"loc", "msg", "type"} <= set(error) for error in answer["detail"])


@pytest.mark.parametrize("endpoint", ["/predict", "/features"])
def test_a_flight_before_the_data_start_is_refused_naming_it(
    client: httpx.Client, world: World, one_flight: dict[str, Any], endpoint: str
) -> None:
    # Before, it was scored with its history counted over a window running before the store's
    # data: the serve README's example (1 January, the store's first morning) and 1970 got 0
    # flights and the empty window's rate.
    store = OnlineStore(world.store)
    first = (store.start + store.window).ceil("min").to_pydatetime()
    within = leaving_at(one_flight, first)
    early = [
        first - dt.timedelta(minutes=1),
        dt.datetime(2013, 1, 1, 10, 15, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, 5, tzinfo=dt.UTC),
    ]
    before = _refused(client)
    flights = [
        leaving_at(one_flight, early[0]),
        within,
        *(leaving_at(one_flight, w) for w in early[1:]),
    ]
    answer = _post(client, {"flights": flights}, endpoint)
    assert answer.status_code == 400, answer.text
    # Counted once, as the platform's refusal, apart from the flights past the horizon.
    assert _refused(client) == before | {"before_data_start": before["before_data_start"] + 1}
    body = answer.json()
    assert body["error"] == "3 validation error for PredictRequest"
    assert [(e["loc"], e["type"], e["msg"]) for e in body["detail"]] == [
        (
            ["flights", i, "time_hour"],
            "before_data_start",
            f"departure {pd.Timestamp(when).isoformat()} is earlier than the online store's data "
            f"start {store.start.isoformat()} plus the trailing window of 7 days: its trailing "
            "window would count arrivals from before the store's data",
        )
        for i, when in zip((0, 2, 3), early, strict=True)
    ]
    # From the start plus the window on, scored as before, history and all.
    answer = _post(client, {"flights": [within]}, endpoint)
    assert answer.status_code == 200, answer.text
    if endpoint == "/features":
        assert answer.json()[0]["origin_trailing_flights"] > 0


def test_the_generated_valid_flights_leave_inside_the_stores_data(world: World) -> None:
    """_VALID_FIELDS' hours, at any offset, leave from the store's data start plus its window up
    to the earliest origin's data horizon plus the allowance (a day)."""
    store = OnlineStore(world.store)
    earliest = pd.Timestamp(_FIRST_VALID_HOUR, tz="UTC") - pd.Timedelta(hours=23)
    latest = pd.Timestamp(_LAST_VALID_HOUR, tz="UTC") + pd.Timedelta(hours=23, minutes=59)
    assert store.start + store.window <= earliest
    assert latest <= store.earliest_horizon + pd.Timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "loc", "kind"),
    [
        ('1, "carrier": "AA"', ["flights", 0, "carrier"], "duplicate_key"),
        ("1" * 4301, ["flights", 0, "flight"], "number_too_long"),
    ],
    ids=["duplicated key", "number too long"],
)
def test_json_pydantic_would_misread_is_refused_naming_where(
    client: httpx.Client, one_flight: dict[str, Any], text: str, loc: list[Any], kind: str
) -> None:
    response = client.post(
        "/predict",
        content=written(one_flight, "flight", text),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert [(e["loc"], e["type"]) for e in response.json()["detail"]] == [(loc, kind)]


def test_an_unknown_destination_is_refused_as_any_bad_field_is(
    client: httpx.Client, one_flight: dict[str, Any]
) -> None:
    flights = [{**one_flight, "dest": "XYZ"}, one_flight, {**one_flight, "dest": "QQQ"}]
    before = _refused(client)
    unknown = _post(client, {"flights": flights})
    assert _refused(client) == before | {"unknown_airport": before["unknown_airport"] + 1}
    # Before, a one-element array: [{"error": "flights.0.dest: unknown airport 'XYZ'"}].
    assert unknown.status_code == 400
    answer = unknown.json()
    assert isinstance(answer, dict), answer
    assert answer["error"] == "2 validation error for PredictRequest"
    assert [(e["loc"], e["msg"]) for e in answer["detail"]] == [
        (["flights", 0, "dest"], "unknown airport 'XYZ'"),
        (["flights", 2, "dest"], "unknown airport 'QQQ'"),
    ]


def test_every_flight_the_store_cannot_score_is_named_in_one_answer(
    client: httpx.Client, world: World, one_flight: dict[str, Any]
) -> None:
    # Before, the unknown destination alone: the departure past the horizon came out only on
    # the next try.
    horizon = OnlineStore(world.store).horizon_of(one_flight["origin"])
    late = leaving_at(one_flight, (horizon + pd.Timedelta(days=3)).to_pydatetime())
    before = _refused(client)
    answer = _post(client, {"flights": [one_flight, late, {**one_flight, "dest": "XYZ"}]})
    assert answer.status_code == 400, answer.text
    assert [(e["loc"], e["type"]) for e in answer.json()["detail"]] == [
        (["flights", 1, "time_hour"], "past_data_horizon"),
        (["flights", 2, "dest"], "unknown_airport"),
    ]
    # One request refused, counted once under each of its reasons.
    assert _refused(client) == before | {
        "past_data_horizon": before["past_data_horizon"] + 1,
        "unknown_airport": before["unknown_airport"] + 1,
    }


@pytest.mark.parametrize("endpoint", ["/predict", "/features"])
def test_a_flight_past_the_data_horizon_is_refused_naming_it(
    client: httpx.Client, world: World, one_flight: dict[str, Any], endpoint: str
) -> None:
    # Before, it was scored with its history counted over a window past the store's data: a
    # day past, about a seventh of a 7-day window missing; a week past, none of it.
    origin = one_flight["origin"]
    horizon = OnlineStore(world.store).horizon_of(origin)
    last = (horizon + pd.Timedelta(days=1)).floor("min").to_pydatetime()
    within = leaving_at(one_flight, last)
    past = [leaving_at(one_flight, last + dt.timedelta(minutes=m)) for m in (1, 7 * 24 * 60)]
    before = _refused(client)
    answer = _post(client, {"flights": [past[0], within, past[1]]}, endpoint)
    assert answer.status_code == 400, answer.text
    # Counted once, as the platform's refusal (ServePastDataHorizon), not as a client's 400.
    assert _refused(client) == before | {"past_data_horizon": before["past_data_horizon"] + 1}
    body = answer.json()
    assert body["error"] == "2 validation error for PredictRequest"
    assert [(e["loc"], e["type"], e["msg"]) for e in body["detail"]] == [
        (
            ["flights", i, "time_hour"],
            "past_data_horizon",
            f"departure {pd.Timestamp(when).isoformat()} is past the online store's data horizon "
            f"at {origin} {horizon.isoformat()} by more than the allowance of 1 day: the store "
            f"lacks {origin}'s weather a day before it, or arrivals its trailing window would "
            "count",
        )
        for i, when in [
            (0, last + dt.timedelta(minutes=1)),
            (2, last + dt.timedelta(days=7)),
        ]
    ]
    # Up to the horizon plus the allowance, scored as before, history and all.
    answer = _post(client, {"flights": [within]}, endpoint)
    assert answer.status_code == 200, answer.text
    if endpoint == "/features":
        assert answer.json()[0]["origin_trailing_flights"] > 0


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]
)
def test_a_body_declared_as_not_json_gets_415(
    server: Server, one_flight: dict[str, Any], content_type: str
) -> None:
    # Before: multipart got a 500 (BentoML parsed a form), a form was read as its fields.
    body = json.dumps({"flights": [one_flight]})
    with server.client() as client:
        response = client.post("/predict", content=body, headers={"content-type": content_type})
    assert response.status_code == 415, response.text
    assert content_type in response.json()["error"]


def test_the_model_call_is_not_a_route(server: Server) -> None:
    with server.client() as client:
        response = client.post("/score", json={"rows": [{"carrier": "UA", "distance": 10.0}]})
        routes = client.get("/docs.json").json()["paths"]
    assert response.status_code == 404, response.text
    assert "/score" not in routes and "/predict" in routes


def test_the_openapi_document_is_valid_openapi_30(client: httpx.Client) -> None:
    document = client.get("/docs.json").json()
    assert document["openapi"].startswith("3.0.")
    # Before: pydantic's JSON Schema 2020-12 (a null alternative in anyOf, a numeric
    # exclusiveMinimum), which 3.0 validators and client generators refuse.
    errors = [
        f"{list(error.absolute_path)}: {error.message}"
        for error in OpenAPIV30SpecValidator(document).iter_errors()
    ]
    assert errors == []
    # Every error the API answers is declared (before, BentoML's 400, 404 and 500 only).
    responses = document["paths"]["/predict"]["post"]["responses"]
    assert {"400", "413", "415", "429", "503", "504"} <= set(responses)


def test_the_largest_valid_request_fits_the_body_limit(
    server: Server, test_flights: pd.DataFrame
) -> None:
    # The longest valid flight, but with a destination and time the test store knows (at an
    # hour of two digits, as the longest departure's).
    (known,) = as_request(test_flights[test_flights["sched_dep_time"] >= 1000].iloc[:1])
    flight = {
        **LARGEST_FLIGHT,
        "dest": known["dest"],
        "time_hour": known["time_hour"],
        "sched_dep_time": departure(known["time_hour"], 59),
    }
    assert len(str(flight["sched_dep_time"])) == len(str(LARGEST_FLIGHT["sched_dep_time"]))
    body = json.dumps({"flights": [flight] * MAX_FLIGHTS}, indent=2)
    assert len(body) <= MAX_BODY_BYTES
    with server.client() as client:
        response = client.post(
            "/predict", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == MAX_FLIGHTS


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_gets_413(
    server: Server, one_flight: dict[str, Any], chunked: bool
) -> None:
    # Valid JSON, padded past the limit: refused for its size, before any parsing.
    body = json.dumps({"flights": [one_flight]}).encode() + b" " * MAX_BODY_BYTES
    content: bytes | Iterator[bytes] = iter([body[:1000], body[1000:]]) if chunked else body
    with server.client() as client:
        response = client.post(
            "/predict", content=content, headers={"content-type": "application/json"}
        )
    assert response.status_code == 413, response.text
    assert "request body" in response.text and str(MAX_BODY_BYTES) in response.text


def test_metrics_count_requests_and_watch_predictions_and_drift(
    server: Server, test_flights: pd.DataFrame
) -> None:
    # One request of a drift window's rows: one worker scores them all in one call and fills
    # its window, before which it reports no PSI (serve/drift.py).
    assert WINDOW_ROWS <= MAX_FLIGHTS
    sample = test_flights.sample(
        n=WINDOW_ROWS, replace=len(test_flights) < WINDOW_ROWS, random_state=0
    )
    with server.client() as client:
        before = client.get("/metrics").text
        flights = as_request(sample)
        assert client.post("/predict", json={"flights": flights}).status_code == 200
        metrics = wait_for_rows(server, client, before, WINDOW_ROWS)
    lines = metrics.splitlines()
    assert "flight_delay_observe_failures_total 0.0" in lines
    assert any(
        line.startswith("bentoml_service_request_total") and 'endpoint="/predict"' in line
        for line in lines
    )
    assert any(line.startswith("bentoml_service_request_duration_seconds_bucket") for line in lines)
    # At least: the batch of an earlier test's last request may still have been observed
    # after `before` was read.
    probabilities = metric_total(metrics, "flight_delay_probability_count")
    assert probabilities - metric_total(before, "flight_delay_probability_count") >= WINDOW_ROWS
    psi = {
        line.split('feature="')[1].split('"')[0]: float(line.split()[-1])
        for line in lines
        if line.startswith("flight_delay_feature_psi{")
    }
    # Every feature but those drift never watches (the train split's months are not live's).
    assert set(psi) == set(FEATURE_COLUMNS) - set(NOT_DRIFT_MONITORED)
    assert "month_of_year" not in psi
    assert all(np.isfinite(v) and v >= 0 for v in psi.values())


def test_liveness(server: Server) -> None:
    with server.client() as client:
        assert client.get("/livez").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_a_failing_metrics_page_answers_500_naming_it_and_the_log_has_the_cause(
    server: Server, world: World
) -> None:
    """An error outside the API, here /metrics reading a worker's file while it is made (an
    empty file), is answered at once and logged. BentoML's request timeout dropped it: nothing
    for 30 s, then a bare 500, and no line in the log."""
    being_made = world.home / MULTIPROC_DIR / "counter_999999999.db"
    being_made.touch()
    try:
        with server.client() as client:
            failed = client.get("/metrics")
    finally:
        being_made.unlink()
    assert failed.status_code == 500, failed.text
    assert failed.json() == {
        "error": "GET /metrics failed: struct.error (the server's log has the cause)"
    }
    log = server.log.read_text()
    assert "GET /metrics failed" in log and "struct.error: unpack_from" in log, log[-4000:]
    with server.client() as client:
        assert client.get("/metrics").status_code == 200


def test_concurrent_requests_share_batched_model_calls(
    server: Server, test_flights: pd.DataFrame
) -> None:
    flights = as_request(test_flights.iloc[:32])

    def predict(i: int) -> int:
        with server.client() as client:
            return client.post("/predict", json={"flights": [flights[i]]}).status_code

    sent, calls, rows = 0, 0.0, 0.0
    with server.client() as client, ThreadPoolExecutor(16) as pool:
        before = client.get("/metrics").text
        # Requests share a call when they arrive while the model scores another batch; a few
        # bursts make it vanishingly unlikely that none does, without timing anything.
        for _ in range(5):
            statuses = list(pool.map(predict, range(len(flights))))
            assert statuses == [200] * len(flights)
            sent += len(flights)
            after = wait_for_rows(server, client, before, sent)
            calls, rows = (
                metric_total(after, f"flight_delay_batch_rows_{part}")
                - metric_total(before, f"flight_delay_batch_rows_{part}")
                for part in ("count", "sum")
            )
            if calls < rows:
                break
    # Every request's row went through the batcher, and some requests shared a model call.
    assert rows == sent
    assert 1 <= calls < rows


def _without_threshold(stats: str) -> str:
    return json.dumps({k: v for k, v in json.loads(stats).items() if k != "psi_threshold"})


@pytest.mark.parametrize(
    ("break_stats", "reason"),
    [
        (lambda stats: "{not json", "JSONDecodeError"),
        # A stats.json written before the feature build carried the threshold.
        (_without_threshold, "has no 'psi_threshold' key"),
    ],
    ids=["not-json", "no-threshold"],
)
def test_a_failed_load_is_shown_and_counted(
    world: World,
    one_flight: dict[str, Any],
    tmp_path: Path,
    break_stats: Callable[[str], str],
    reason: str,
) -> None:
    data = serving_data(tmp_path / "data", world.features, world.store)
    broken = data / "features" / "stats.json"
    broken.write_text(break_stats(broken.read_text()))
    env = server_env(store_copy(world.home, tmp_path / "home"), data)
    with serving(service_command(), env, tmp_path / "server.log", tmp_path, 1) as failing:
        failing.wait("/livez", 200)
        with failing.client() as client:
            # Loading the model takes a moment; then the statistics fail.
            readyz = wait_until(
                lambda: _unless_loading(client.get("/readyz")),
                what="/readyz past loading",
                timeout=120,
                process=failing.process,
                log=failing.log,
            )
            metrics = client.get("/metrics").text
            predict = client.post("/predict", json={"flights": [one_flight]})
    assert readyz.status_code == 503
    error = readyz.json()["error"]
    assert error.startswith("statistics:") and str(broken) in error, error
    assert reason in error, error
    # One count per worker that has failed (each worker loads on its own): its one worker.
    failures = re.search(
        r'flight_delay_load_failures_total\{kind="statistics"\} ([0-9.]+)', metrics
    )
    assert failures is not None and float(failures[1]) == 1, metrics
    assert "\nflight_delay_ready 0.0\n" in metrics
    # No threshold stands in for the one the statistics did not give.
    assert "\nflight_delay_psi_threshold 0.0\n" in metrics
    # BentoML words every 5xx body alike; /readyz is where the reason is.
    assert predict.status_code == 503


def test_requests_over_max_concurrency_get_429_at_once_not_a_hang(
    world: World, test_flights: pd.DataFrame, tmp_path: Path
) -> None:
    """BentoML's max_concurrency (serve/limits.py), lowered to one request per worker: bursts of
    concurrent large requests are each answered, and some are refused at once, with the 429 the
    ServeOverloaded alert counts (BentoML's concurrency middleware; the 503 of its dispatcher is
    for batchable APIs only, and a 503 would be read as a worker not ready)."""
    data = serving_data(tmp_path / "data", world.features, world.store)
    env = {
        **server_env(store_copy(world.home, tmp_path / "home"), data),
        "BENTOML_CONFIG_OPTIONS": "services.FlightDelayService.traffic.max_concurrency=2",
    }
    body = {"flights": as_request(test_flights.iloc[:MAX_FLIGHTS])}
    statuses: list[int] = []
    with serving(service_command(), env, tmp_path / "server.log", tmp_path) as running:
        running.wait_ready()
        with running.client() as client, ThreadPoolExecutor(24) as pool:
            # A burst is refused in part unless every request finished before the next came
            # in; a few bursts make that vanishingly unlikely without timing anything.
            for _ in range(5):
                burst = list(pool.map(lambda _: client.post("/predict", json=body), range(24)))
                statuses += [response.status_code for response in burst]
                if 429 in statuses:
                    break

            # Every refusal is counted where the ServeOverloaded alert reads it
            # (infra/monitoring). A worker counts a request after its response has gone out:
            # read the counters until the last responses are counted.
            answered = {code: statuses.count(code) for code in (200, 429)}

            def counted() -> bool:
                metrics = client.get("/metrics").text
                counts = {code: _requests(metrics, code) for code in answered}
                assert counts == answered, counts
                return True

            wait_until(
                counted,
                what=f"the /predict counters at {answered}",
                timeout=10,
                interval=0.2,
                retry_on=(AssertionError,),
            )
    assert set(statuses) == {200, 429}, statuses


def test_requests_to_a_worker_still_loading_each_get_503_not_a_queued_504(
    world: World, one_flight: dict[str, Any], tmp_path: Path
) -> None:
    """Each waits READY_WAIT_SECONDS for the load on its own. They waited one after another in
    the batcher's thread before: the third of a burst got the request timeout's 504."""
    # No online store: the worker waits for one (a pipeline still writing it) and stays loading.
    data = serving_data(tmp_path / "data", world.features)
    env = server_env(store_copy(world.home, tmp_path / "home"), data)
    with serving(service_command(), env, tmp_path / "server.log", tmp_path, 1) as loading:
        loading.wait("/livez", 200)
        with loading.client() as client, ThreadPoolExecutor(4) as pool:
            burst = [
                pool.submit(client.post, "/predict", json={"flights": [one_flight]})
                for _ in range(4)
            ]
            answers = [answered.result(timeout=120) for answered in burst]
            still = client.get("/readyz").json()["status"]
    assert [answer.status_code for answer in answers] == [503] * 4 and still == "loading"
    # Each says why, as /readyz does (before, BentoML's "An unexpected error has occurred").
    for answer in answers:
        assert answer.json()["status"] == "loading"
        assert answer.json()["error"].startswith("not ready: loading, waiting for the model")


def test_an_origin_the_store_holds_no_weather_of_is_refused_by_name_the_others_scored(
    world: World, test_flights: pd.DataFrame, tmp_path: Path
) -> None:
    """A store built from flights at JFK with no weather there at all. Before, it was not built
    (`feature online-store` failed), so the served store of every origin aged; now JFK's
    flights get a 400 naming JFK, counted as past the data horizon, and the others are
    scored."""
    store = without_weather_at(world.store, tmp_path / "online.sqlite", "JFK")
    data = serving_data(tmp_path / "data", world.features, store)
    env = server_env(store_copy(world.home, tmp_path / "home"), data)
    jfk = as_request(test_flights[test_flights["origin"] == "JFK"].iloc[:1])[0]
    others = as_request(test_flights[test_flights["origin"] != "JFK"].iloc[:2])
    with serving(service_command(), env, tmp_path / "server.log", tmp_path, 1) as running:
        running.wait_ready()
        with running.client() as client:
            before = _refused(client)
            refused = _post(client, {"flights": [others[0], jfk, others[1]]})
            counted = _refused(client)
            scored = _post(client, {"flights": others})
    assert refused.status_code == 400, refused.text
    # A time_hour is the departure's hour: the minutes come from sched_dep_time.
    departure = pd.Timestamp(jfk["time_hour"]) + pd.Timedelta(minutes=jfk["sched_dep_time"] % 100)
    assert [(e["loc"], e["type"], e["msg"]) for e in refused.json()["detail"]] == [
        (
            ["flights", 1, "time_hour"],
            "past_data_horizon",
            f"departure {departure.tz_convert('UTC').isoformat()} is from JFK, and the online "
            "store holds no weather at JFK: its flights had none when the store was built",
        )
    ]
    # Counted where ServePastDataHorizon reads it.
    assert counted == before | {"past_data_horizon": before["past_data_horizon"] + 1}
    assert scored.status_code == 200, scored.text
    assert len(scored.json()) == 2


def _unless_loading(readyz: httpx.Response) -> httpx.Response | None:
    return None if readyz.json()["status"] == "loading" else readyz


def _requests(metrics: str, code: int) -> float:
    """BentoML's count of /predict requests answered with `code`."""
    return metric_total(
        metrics,
        "bentoml_service_request_total{",
        f'endpoint="/predict",http_response_code="{code}"',
    )


# --- Properties: every valid flight is answered, no input gets a 5xx --------------------------

_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_OFFSETS = st.timedeltas(dt.timedelta(hours=-23, minutes=-59), dt.timedelta(hours=23, minutes=59))
# A valid time_hour is a whole hour in UTC too: its offset is whole hours.
_HOUR_OFFSETS = st.integers(-23, 23).map(lambda hours: dt.timedelta(hours=hours))
_HHMM = st.builds(lambda hour, minute: 100 * hour + minute, st.integers(0, 23), st.integers(0, 59))
# Flights the schema accepts, to destinations the test store knows: each one reaches the
# features and the model. Any carrier and plane (unknown ones fall back), any hour at any offset
# from the store's data start plus its window (the store's first morning, 1 January, plus 7
# days) up to its data horizon (the evening of 14 January in New York, with a day's allowance
# after it): test_the_generated_valid_flights_leave_inside_the_stores_data. Earlier and later
# ones are refused: test_a_flight_before_the_data_start_is_refused_naming_it and
# test_a_flight_past_the_data_horizon_is_refused_naming_it.
_FIRST_VALID_HOUR, _LAST_VALID_HOUR = dt.datetime(2013, 1, 10), dt.datetime(2013, 1, 15)
_VALID_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "carrier": st.from_regex(r"[A-Z0-9]{2}", fullmatch=True) | st.sampled_from(["UA", "B6"]),
    "flight": st.integers(1, 9999),
    "tailnum": st.none()
    | st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True)
    | st.sampled_from(["N14228", "N24211"]),
    "origin": st.sampled_from(ORIGINS),
    "dest": st.sampled_from(["IAH", "ATL", "ORD", "LAX", "MIA"]),
    "time_hour": st.builds(
        lambda when, offset: when.replace(minute=0, second=0, microsecond=0)
        .replace(tzinfo=dt.timezone(offset))
        .isoformat(),
        st.datetimes(_FIRST_VALID_HOUR, _LAST_VALID_HOUR),
        _HOUR_OFFSETS,
    ),
    "sched_arr_time": _HHMM,
    "distance": st.floats(min_value=0, max_value=10_000, exclude_min=True),
}
# Each departing at any minute of its time_hour's hour in New York, as the schema requires.
_VALID_FLIGHTS = st.builds(
    lambda fields, minute: {**fields, "sched_dep_time": departure(fields["time_hour"], minute)},
    st.fixed_dictionaries(_VALID_FIELDS),
    st.integers(0, 59),
)
_TIME_HOURS = st.one_of(
    st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)).map(
        lambda d: d.replace(minute=0, second=0, microsecond=0).isoformat()
    ),
    st.builds(
        lambda d, offset: d.replace(minute=0, second=0, microsecond=0, tzinfo=dt.timezone(offset)),
        st.datetimes(dt.datetime(1960, 1, 1), dt.datetime(2120, 1, 1)),
        _OFFSETS,
    ).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.integers(),
    st.text(max_size=30),
)
# Each field valid or just outside what the schema accepts.
_NEAR_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "carrier": st.from_regex(r"[A-Za-z0-9]{1,3}", fullmatch=True),
    "flight": st.integers(-5, 10_005),
    "tailnum": st.none() | st.from_regex(r"[A-Z0-9]{1,9}", fullmatch=True),
    "origin": st.sampled_from(["EWR", "JFK", "LGA", "BOS", "ewr"]),
    "dest": st.sampled_from(["IAH", "SJU", "ATL", "XYZ"])
    | st.from_regex(r"[A-Z]{3}", fullmatch=True),
    "time_hour": _TIME_HOURS,
    "sched_dep_time": st.integers(-100, 2500),
    "sched_arr_time": st.integers(-100, 2500),
    "distance": st.floats() | st.integers(-10, 20_000),
}
_ONE_FIELD_OFF = st.sampled_from(sorted(_NEAR_FIELDS)).flatmap(
    lambda field: st.builds(
        lambda flight, value: {**flight, field: value}, _VALID_FLIGHTS, _NEAR_FIELDS[field]
    )
)
_FLIGHTS = st.one_of(
    _VALID_FLIGHTS,
    # A valid flight with one field valid or just outside (most reach the features).
    _ONE_FIELD_OFF,
    # Fields missing, mistyped or extra.
    st.fixed_dictionaries(
        {},
        optional={
            **{name: strategy | _ANY_JSON for name, strategy in _NEAR_FIELDS.items()},
            "gate": _ANY_JSON,
        },
    ),
)
_BODIES = st.one_of(
    st.fixed_dictionaries({"flights": st.lists(_FLIGHTS, max_size=4)}),
    _ANY_JSON,
)


def _refused(client: httpx.Client) -> dict[str, float]:
    """flight_delay_refused_requests_total by reason, as /metrics adds it up over the workers
    (each reason exported from the start, at 0)."""
    page = client.get("/metrics").text
    return {
        reason: metric_total(page, "flight_delay_refused_requests_total", f'reason="{reason}"')
        for reason in REFUSAL_REASONS
        if f'flight_delay_refused_requests_total{{reason="{reason}"}}' in page
    }


def _post(client: httpx.Client, body: Any, endpoint: str = "/predict") -> httpx.Response:
    return client.post(
        endpoint, content=json.dumps(body), headers={"content-type": "application/json"}
    )


@settings(max_examples=300)
@given(flights=st.lists(_VALID_FLIGHTS, min_size=1, max_size=4))
def test_every_valid_flight_gets_a_prediction(
    client: httpx.Client, flights: list[dict[str, Any]]
) -> None:
    response = _post(client, {"flights": flights})
    assert response.status_code == 200, (flights, response.text)
    predictions = response.json()["predictions"]
    assert len(predictions) == len(flights)
    assert all(0 <= p["delay_probability"] <= 1 for p in predictions), predictions


@settings(
    max_examples=2000,
    suppress_health_check=[HealthCheck.data_too_large],
)
@given(body=_BODIES)
def test_no_input_gets_a_5xx(client: httpx.Client, body: Any) -> None:
    response = _post(client, body)
    assert response.status_code < 500, (body, response.status_code, response.text)
    if response.status_code == 200:
        assert len(response.json()["predictions"]) == len(body["flights"])
    else:
        assert response.status_code == 400 and response.text, (body, response.text)
