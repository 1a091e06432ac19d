"""A real Prometheus on loopback scraping a real serve service with infra/monitoring's config
and alert rules (only the target, the intervals and the alerts' `for:` shortened for the test):
it sees the service up but not ready until the online store arrives, then ready; it sees every
metric the rules and the dashboard read; it sees the PSI threshold the service exports, which is
params.yaml's as the feature build wrote it into stats.json; and feature drift stays quiet on
traffic like the train split and fires on traffic from later days; a flight past the online
store's data horizon is refused, counted and pages."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pandas as pd
import pytest
import yaml

from feature_definitions.drift_monitoring import NOT_DRIFT_MONITORED
from loopback.processes import answers_200, start_server, stop, wait_until
from model_registry.store import open_store
from online_store.store import OnlineStore
from serve.drift import WINDOW_ROWS
from serve.testing import leaving_at
from tests.monitoring.support import (
    ALERTS,
    PROMETHEUS_CONFIG,
    SCRAPE_METRICS,
    SERVE_METRICS,
    alert_rules,
    dashboard_exprs,
    load_yaml,
    metric_names,
    tool,
)
from tests.serving.harness import (
    Server,
    as_request,
    build_data,
    deliver_store,
    params_psi_threshold,
    register_model,
    request_flights,
    scoring_the_first_week,
    server_env,
    service_command,
    serving,
    serving_data,
)

T = TypeVar("T")
# Rows per traffic burst: the drift monitor's whole window, which a worker fills before it
# reports any PSI (one request: one worker scores it all).
BURST = WINDOW_ROWS


@dataclass(frozen=True)
class Prometheus:
    url: str
    log: Path

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def alerts(self, name: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/alerts", timeout=10)
        response.raise_for_status()
        return [a for a in response.json()["data"]["alerts"] if a["labels"]["alertname"] == name]

    def names(self) -> set[str]:
        response = httpx.get(f"{self.url}/api/v1/label/__name__/values", timeout=10)
        response.raise_for_status()
        return set(response.json()["data"])


def wait_for(what: str, probe: Callable[[], T | None], log: Path, timeout: float = 60) -> T:
    """Poll `probe` until it returns something true (a non-empty list, True); a query that
    fails or an assertion in `probe` counts as not yet."""
    return wait_until(
        probe,
        what=what,
        timeout=timeout,
        interval=0.5,
        log=log,
        retry_on=(httpx.HTTPError, AssertionError),
    )


def scrape_config(workdir: Path, target: str) -> Path:
    """infra/monitoring's config and rules, with the serve target on `target`, 1 s intervals and
    every alert's `for:` at 1 s; the expressions are the real ones."""
    rules = load_yaml(ALERTS)
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "1s"
    (workdir / "alerts.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = ["alerts.yml"]
    (job,) = config["scrape_configs"]
    job["static_configs"][0]["targets"] = [target]
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextmanager
def prometheus(config: Path, workdir: Path) -> Iterator[Prometheus]:
    """A real Prometheus on a free loopback port with its storage in `workdir`; always stopped
    (terminate, then kill)."""
    process, port = start_server(
        lambda port: [
            tool("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        started=lambda _, port: answers_200(f"http://127.0.0.1:{port}/-/ready"),
        what="Prometheus",
        log=workdir / "prometheus.log",
        timeout=60,
        cwd=workdir,
        start_new_session=True,
    )
    try:
        yield Prometheus(f"http://127.0.0.1:{port}", workdir / "prometheus.log")
    finally:
        stop(process, timeout=20)


def value(result: list[dict[str, Any]]) -> float | None:
    return float(result[0]["value"][1]) if len(result) == 1 else None


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("world")
    curated, features, store = build_data(root)
    home = root / "bentoml"
    register_model(features, open_store(home), root / "model")
    return {"curated": curated, "features": features, "store": store, "home": home}


def predict(server: Server, world: dict[str, Path], split: str, seed: int) -> None:
    flights = request_flights(world["features"], world["curated"], split)
    sample = flights.sample(BURST, replace=True, random_state=seed)
    with server.client() as client:
        response = client.post("/predict", json={"flights": as_request(sample)})
    assert response.status_code == 200, response.text


def test_prometheus_scrapes_serve_and_the_alerts_follow(
    world: dict[str, Path], tmp_path: Path
) -> None:
    # The online store is not there yet: the service starts alive but not ready.
    env = server_env(world["home"], serving_data(tmp_path, world["features"]))
    with serving(service_command(), env, tmp_path / "serve.log", tmp_path) as server:
        server.wait("/livez", 200)
        target = urlsplit(server.url).netloc
        config = scrape_config(tmp_path, target)
        with prometheus(config, tmp_path) as prom:
            log = prom.log
            assert wait_for("up == 1", lambda: value(prom.query('up{job="serve"}')) == 1, log)
            # An instance is up: ServeAbsent (no instance up) is quiet.
            wait_for("ServeAbsent quiet", lambda: not prom.alerts("ServeAbsent"), log)
            assert value(prom.query('flight_delay_ready{job="serve"}')) == 0
            (alert,) = wait_for(
                "ServeNotReady firing",
                lambda: [a for a in prom.alerts("ServeNotReady") if a["state"] == "firing"],
                log,
            )
            assert alert["labels"]["instance"] == target

            # The store arrives: ready, and the alert resolves. It scores the train split's
            # flights, the traffic like it below, though they leave in its first week.
            deliver_store(
                scoring_the_first_week(world["store"], tmp_path / "store.sqlite"), tmp_path
            )
            server.wait_ready()
            wait_for(
                "ready == 1",
                lambda: value(prom.query('flight_delay_ready{job="serve"}')) == 1,
                log,
            )
            wait_for("ServeNotReady resolved", lambda: not prom.alerts("ServeNotReady"), log)
            assert not prom.alerts("ServeDown")

            # The threshold the drift alert compares with: params.yaml's, through stats.json.
            threshold = params_psi_threshold()
            wait_for(
                "the exported PSI threshold",
                lambda: value(prom.query('flight_delay_psi_threshold{job="serve"}')) == threshold,
                log,
            )

            # Traffic like the train split: every feature's PSI is below the threshold.
            predict(server, world, "train", seed=0)
            # Every feature of the statistics but those drift never watches (month_of_year).
            recorded = json.loads((world["features"] / "stats.json").read_text())["features"]
            features = len(set(recorded) - set(NOT_DRIFT_MONITORED))
            assert features == len(recorded) - 1

            def every_psi() -> list[dict[str, Any]] | None:
                result = prom.query('flight_delay_feature_psi{job="serve"}')
                return result if len(result) == features else None

            psi = wait_for("the PSI of every feature", every_psi, log)
            assert max(float(s["value"][1]) for s in psi) < threshold
            time.sleep(3)  # three rule evaluations on these values
            assert not prom.alerts("FeatureDrift")

            # Every metric the rules and the dashboard read is in Prometheus now.
            read = set().union(
                *(metric_names(r["expr"]) for r in alert_rules().values()),
                *(metric_names(expr) for _, expr in dashboard_exprs()),
            )
            assert read <= SERVE_METRICS | SCRAPE_METRICS
            names = prom.names()
            assert read <= names, read - names
            assert names >= SERVE_METRICS, SERVE_METRICS - names
            wait_for(
                "one /predict counted",
                lambda: value(prom.query('sum(bentoml_service_request_total{endpoint="/predict"})'))
                == 1,
                log,
            )

            # Traffic from later days (other weather, weekdays, trailing rates): drift fires.
            predict(server, world, "test", seed=1)
            drifted = wait_for(
                "FeatureDrift firing",
                lambda: [a for a in prom.alerts("FeatureDrift") if a["state"] == "firing"],
                log,
            )
            for alert in drifted:
                feature = alert["labels"]["feature"]
                assert float(alert["value"]) > threshold, alert
                assert alert["annotations"]["runbook"] == "docs/runbook.md#featuredrift"
                current = value(prom.query(f'max(flight_delay_feature_psi{{feature="{feature}"}})'))
                assert current is not None and current > threshold

            # A flight leaving two days past the store's data horizon: a 400 BentoML counts as
            # bad input, which the service counts as its own refusal, and the page follows.
            assert not prom.alerts("ServePastDataHorizon")
            horizon = OnlineStore(world["store"]).horizon
            assert (
                value(prom.query('flight_delay_data_horizon_timestamp_seconds{job="serve"}'))
                == horizon.timestamp()
            )
            assert value(prom.query('flight_delay_origins_without_weather{job="serve"}')) == 0
            flight = as_request(request_flights(world["features"], world["curated"]).head(1))[0]
            late = leaving_at(flight, (horizon + pd.Timedelta(days=2)).to_pydatetime())
            with server.client() as client:
                refused = client.post("/predict", json={"flights": [late]})
            assert refused.status_code == 400, refused.text
            assert refused.json()["detail"][0]["type"] == "past_data_horizon"
            (alert,) = wait_for(
                "ServePastDataHorizon firing",
                lambda: [a for a in prom.alerts("ServePastDataHorizon") if a["state"] == "firing"],
                log,
            )
            assert alert["annotations"]["runbook"] == "docs/runbook.md#servepastdatahorizon"
