"""What the monitoring tests share: where infra/monitoring's files are, the real Prometheus
tools, the metric names the serve service exposes, and the metric names a PromQL expression
reads."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import yaml

# Pants lays out the `files` dependencies at the sandbox root, the tests' working directory.
MONITORING = Path("infra/monitoring")
PROMETHEUS_CONFIG = MONITORING / "prometheus.yml"
ALERTS = MONITORING / "alerts.yml"
ALERTS_TEST = MONITORING / "alerts_test.yml"
DASHBOARD = MONITORING / "grafana/dashboards/serve.json"
PARAMS = Path("params.yaml")
RUNBOOK = Path("docs/runbook.md")

# Every series name the serve service's /metrics gives (BentoML 1.4's and serve.service's),
# read off a running server; prometheus_live_test.py checks each against a real scrape.
SERVE_METRICS = frozenset(
    {
        "bentoml_service_request_total",
        "bentoml_service_request_in_progress",
        "bentoml_service_request_duration_seconds_bucket",
        "bentoml_service_request_duration_seconds_sum",
        "bentoml_service_request_duration_seconds_count",
        "bentoml_service_adaptive_batch_size_bucket",
        "bentoml_service_adaptive_batch_size_sum",
        "bentoml_service_adaptive_batch_size_count",
        "bentoml_service_last_request_timestamp_seconds",
        "flight_delay_probability_bucket",
        "flight_delay_probability_sum",
        "flight_delay_probability_count",
        "flight_delay_feature_psi",
        "flight_delay_ready",
    }
)
# Series Prometheus itself adds to every scrape.
SCRAPE_METRICS = frozenset({"up"})

INSTALL_HINT = (
    "is not on PATH. The monitoring tests run the real Prometheus tools: install Debian's "
    "`prometheus` package (`apt-get install -y --no-install-recommends prometheus`, which "
    ".ci/run does when promtool is missing)."
)


def tool(name: str) -> str:
    """The path of `promtool` or `prometheus`; fails, never skips, when it is missing."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} {INSTALL_HINT}")
    return path


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], capture_output=True, text=True, timeout=120, check=False
    )


def load_yaml(path: Path) -> Any:
    with open(path) as stream:
        return yaml.safe_load(stream)


def psi_threshold() -> float:
    threshold = load_yaml(PARAMS)["monitor"]["psi_threshold"]
    assert isinstance(threshold, int | float), threshold
    return float(threshold)


def alert_rules() -> dict[str, dict[str, Any]]:
    """alerts.yml's alerting rules by alert name."""
    return {
        rule["alert"]: rule
        for group in load_yaml(ALERTS)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of the Grafana dashboard."""
    with open(DASHBOARD) as stream:
        dashboard = json.load(stream)
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless"}
    | {"bool", "offset", "inf", "nan"}
)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions,
    aggregation modifiers' label lists, label matchers, strings, ranges or keywords."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables ($__rate_interval)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery durations
    text = re.sub(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text
    )  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text):
        name = match.group(1)
        if name.lower() not in _KEYWORDS and not re.fullmatch(r"\d+[smhdwy]", name):
            names.add(name)
    return names


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
