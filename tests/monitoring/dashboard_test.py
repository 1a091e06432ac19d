"""The Grafana dashboard of infra/monitoring: every panel's PromQL parses (the real promtool)
and reads only metrics the serve service exposes, it shows the signals the alerts watch, and
its drift panel draws the PSI threshold from the series the service exports, not a constant."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.monitoring.support import (
    ALERTS_TEST,
    DASHBOARD,
    MONITORING,
    SCRAPE_METRICS,
    SERVE_METRICS,
    dashboard_exprs,
    load_yaml,
    metric_names,
    promtool,
)


def _dashboard() -> dict[str, Any]:
    with open(DASHBOARD) as stream:
        dashboard: dict[str, Any] = json.load(stream)
    return dashboard


def test_every_panel_has_a_query() -> None:
    panels = _dashboard()["panels"]
    assert len(panels) >= 5
    for panel in panels:
        assert panel.get("targets"), panel["title"]
        assert all(t["expr"].strip() for t in panel["targets"]), panel["title"]


def test_every_query_reads_metrics_the_service_exposes() -> None:
    used: set[str] = set()
    for title, expr in dashboard_exprs():
        names = metric_names(expr)
        assert names, (title, expr)
        assert names <= SERVE_METRICS | SCRAPE_METRICS, (title, names - SERVE_METRICS)
        used |= names
    # The signals of the alerts: request rate and errors, latency, up and ready, killed workers,
    # drift, refusals past the data horizon; how many workers run, which says why a server is
    # not ready, and the data horizon and the origins without weather, which say why flights
    # are refused.
    assert {
        "bentoml_service_request_total",
        "bentoml_service_request_duration_seconds_bucket",
        "up",
        "flight_delay_ready",
        "flight_delay_workers",
        "flight_delay_killed_workers_total",
        "flight_delay_feature_psi",
        "flight_delay_psi_threshold",
        "flight_delay_refused_requests_total",
        "flight_delay_data_horizon_timestamp_seconds",
        "flight_delay_origins_without_weather",
    } <= used


def test_every_query_parses_as_promql(tmp_path: Path) -> None:
    # promtool parses rule expressions: one recording rule per query, Grafana's interval
    # variable replaced by a duration.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {
                        "record": f"dashboard:query{i}",
                        "expr": expr.replace("$__rate_interval", "1m"),
                    }
                    for i, (_, expr) in enumerate(dashboard_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_drift_panel_draws_the_exported_psi_threshold() -> None:
    (panel,) = (
        p
        for p in _dashboard()["panels"]
        if any("flight_delay_feature_psi" in t["expr"] for t in p["targets"])
    )
    psi, threshold = panel["targets"]
    assert psi["legendFormat"] == "{{feature}}"
    assert metric_names(threshold["expr"]) == {"flight_delay_psi_threshold"}
    assert threshold["legendFormat"] == "threshold"
    # Drawn as a red dashed series of its own...
    (override,) = panel["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byFrameRefID", "options": threshold["refId"]}
    properties = {p["id"]: p["value"] for p in override["properties"]}
    assert properties["color"] == {"mode": "fixed", "fixedColor": "red"}
    assert properties["custom.lineStyle"]["fill"] == "dash"
    # ...and no constant threshold line: params.yaml is the value's only home.
    defaults = panel["fieldConfig"]["defaults"]
    assert defaults["custom"]["thresholdsStyle"]["mode"] == "off"
    assert [s["value"] for s in defaults["thresholds"]["steps"]] == [None]


def test_panels_use_the_provisioned_datasource() -> None:
    (datasource,) = load_yaml(MONITORING / "grafana/provisioning/datasources/prometheus.yml")[
        "datasources"
    ]
    assert datasource["type"] == "prometheus"
    for panel in _dashboard()["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}
    (provider,) = load_yaml(MONITORING / "grafana/provisioning/dashboards/serve.yml")["providers"]
    assert provider["type"] == "file"
    # An environment variable Grafana expands, never a committed machine path.
    assert provider["options"]["path"] == "$FLIGHT_DELAY_DASHBOARDS_DIR"


def test_the_killed_workers_query_counts_what_the_alert_fires_on(tmp_path: Path) -> None:
    """On the series of alerts_test.yml's ServeWorkersKilled case, the first panel's "killed
    (1h)" count is 1 wherever the alert fires and 0 elsewhere (each of those instances has one
    kill; one has it before its first scrape)."""
    (expr,) = (
        target["expr"]
        for panel in _dashboard()["panels"]
        for target in panel["targets"]
        if target["legendFormat"].startswith("killed (1h)")
    )
    (case,) = (
        case
        for case in load_yaml(ALERTS_TEST)["tests"]
        if any(rule["alertname"] == "ServeWorkersKilled" for rule in case["alert_rule_test"])
    )
    instances = [re.findall(r'instance="([^"]+)"', s["series"])[0] for s in case["input_series"]]
    checks = []
    for rule in case["alert_rule_test"]:
        firing = {alert["exp_labels"]["instance"] for alert in rule["exp_alerts"]}
        samples = [{"labels": f'{{instance="{i}"}}', "value": int(i in firing)} for i in instances]
        checks.append({"expr": expr, "eval_time": rule["eval_time"], "exp_samples": samples})
    # The case has instances that fire and instances that do not.
    assert {sample["value"] for check in checks for sample in check["exp_samples"]} == {0, 1}
    tests = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": case["interval"],
                "input_series": case["input_series"],
                "promql_expr_test": checks,
            }
        ],
    }
    path = tmp_path / "killed_workers_test.yml"
    path.write_text(yaml.safe_dump(tests))
    result = promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
