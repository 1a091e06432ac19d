"""What the monitoring tests share: where infra/monitoring's files are, the real Prometheus
tools, the metric names the serve service exposes, and the metric names a PromQL expression
reads."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import yaml

# Pants lays out the `files` dependencies at the sandbox root, the tests' working directory.
MONITORING = Path("infra/monitoring")
PROMETHEUS_CONFIG = MONITORING / "prometheus.yml"
ALERTS = MONITORING / "alerts.yml"
ALERTS_TEST = MONITORING / "alerts_test.yml"
DASHBOARD = MONITORING / "grafana/dashboards/serve.json"
MONITORING_README = MONITORING / "README.md"
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
        "bentoml_service_last_request_timestamp_seconds",
        "flight_delay_probability_bucket",
        "flight_delay_probability_sum",
        "flight_delay_probability_count",
        "flight_delay_batch_rows_bucket",
        "flight_delay_batch_rows_sum",
        "flight_delay_batch_rows_count",
        "flight_delay_feature_psi",
        "flight_delay_drift_window_rows",
        "flight_delay_psi_threshold",
        "flight_delay_ready",
        "flight_delay_workers",
        "flight_delay_killed_workers_total",
        "flight_delay_observe_failures_total",
        "flight_delay_refused_requests_total",
        "flight_delay_data_horizon_timestamp_seconds",
        "flight_delay_origins_without_weather",
    }
)
# Series Prometheus itself adds to every scrape.
SCRAPE_METRICS = frozenset({"up"})

# Debian's prometheus package, as //infra/monitoring:prometheus-deb lays it out in the sandbox.
PROMETHEUS_DEB = MONITORING / "prometheus.deb"
TOOLS_DIR = Path(tempfile.gettempdir()) / f"prometheus-tools-{os.getuid()}"


def _deb_member(deb: bytes, prefix: str) -> bytes:
    """The member of a .deb (an `ar` archive) whose name starts with `prefix`."""
    if not deb.startswith(b"!<arch>\n"):
        raise AssertionError(f"{PROMETHEUS_DEB} is not a Debian package")
    offset = 8
    while offset < len(deb):
        name = deb[offset : offset + 16].decode().strip().rstrip("/")
        size = int(deb[offset + 48 : offset + 58].decode().strip())
        body = deb[offset + 60 : offset + 60 + size]
        if name.startswith(prefix):
            return body
        offset += 60 + size + size % 2
    raise AssertionError(f"{PROMETHEUS_DEB} has no {prefix}* member")


@functools.cache
def tool(name: str) -> str:
    """The path of `promtool` or `prometheus`, unpacked once per machine from the pinned
    Debian package (infra/monitoring/BUILD); a missing package fails, never skips."""
    if not PROMETHEUS_DEB.is_file():
        raise AssertionError(
            f"{PROMETHEUS_DEB} is missing: depend on //infra/monitoring:prometheus-deb"
        )
    deb = PROMETHEUS_DEB.read_bytes()
    target = TOOLS_DIR / hashlib.sha256(deb).hexdigest()[:16] / name
    if not target.is_file():
        data = _deb_member(deb, "data.tar")
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = archive.extractfile(f"./usr/bin/{name}")
            if member is None:
                raise AssertionError(f"{PROMETHEUS_DEB} has no usr/bin/{name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            # Written whole, then renamed: a concurrent test never runs half a binary.
            partial = target.with_suffix(f".{os.getpid()}.partial")
            partial.write_bytes(member.read())
            partial.chmod(0o755)
            partial.replace(target)
    return str(target)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], capture_output=True, text=True, timeout=120, check=False
    )


def load_yaml(path: Path) -> Any:
    with open(path) as stream:
        return yaml.safe_load(stream)


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
