"""infra/monitoring's Prometheus configuration and alert rules, checked by the real promtool:
the config and rules parse, the rules' unit tests pass (each alert fires on a bad series and
stays quiet on a healthy one), and the drift alert compares with the threshold the service
exports, not with a number of its own."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from flight_orchestration.drift import OBSERVE_FAILURES, UNOBSERVED_QUERY
from tests.monitoring.support import (
    ALERTS,
    ALERTS_TEST,
    MONITORING_README,
    PROMETHEUS_CONFIG,
    RUNBOOK,
    SCRAPE_METRICS,
    SERVE_METRICS,
    alert_rules,
    load_yaml,
    metric_names,
    promtool,
)

ALERT_NAMES = {
    "ServeDown",
    "ServeAbsent",
    "ServeNotReady",
    "ServeWorkersKilled",
    "ServeObserveFailing",
    "ServeHighErrorRate",
    "ServeOverloaded",
    "ServePastDataHorizon",
    "ServeOriginWithoutWeather",
    "ServeHighLatencyP99",
} | {"FeatureDrift"}


def test_promtool_checks_the_config_and_its_rule_files() -> None:
    result = promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERT_NAMES)} rules found" in result.stdout


def test_promtool_checks_the_rules() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(ALERTS_TEST))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    assert set(alert_rules()) == ALERT_NAMES
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in load_yaml(ALERTS_TEST)["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fired == ALERT_NAMES
    assert quiet == ALERT_NAMES


def test_the_scrape_job_is_serve_on_metrics() -> None:
    (job,) = load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
    assert job["job_name"] == "serve"
    assert job["metrics_path"] == "/metrics"
    (static,) = job["static_configs"]
    assert all(t.startswith("127.0.0.1:") for t in static["targets"])


def test_drift_alert_compares_with_the_exported_threshold_not_a_number() -> None:
    # params.yaml is the threshold's only home: the rule reads it from the series serve exports
    # (alerts_test.yml checks that it fires and stays quiet by that series).
    rule = alert_rules()["FeatureDrift"]
    assert metric_names(rule["expr"]) == {"flight_delay_feature_psi", "flight_delay_psi_threshold"}
    assert not re.search(r"(?<![\w.])\d*\.?\d+(?![\w.])", rule["expr"]), rule["expr"]
    # The description names the series, not a value that could go stale.
    description = rule["annotations"]["description"]
    assert "flight_delay_psi_threshold" in description
    assert not re.search(r"\d\.\d", description), description


def test_rules_read_only_metrics_the_service_exposes() -> None:
    for name, rule in alert_rules().items():
        names = metric_names(rule["expr"])
        assert names, name
        assert names <= SERVE_METRICS | SCRAPE_METRICS, (name, names - SERVE_METRICS)


def test_every_alert_links_its_runbook_section() -> None:
    runbook = RUNBOOK.read_text()
    headings = {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip()).lower().replace(" ", "-")
        for line in runbook.splitlines()
        if line.startswith("## ")
    }
    for name, rule in alert_rules().items():
        link = rule["annotations"]["runbook"]
        assert link == f"docs/runbook.md#{name.lower()}", link
        assert name.lower() in headings, f"docs/runbook.md has no '## {name}' section"


def test_the_runbook_table_lists_every_alert_with_its_severity() -> None:
    listed = {
        match[1]: match[2]
        for match in re.finditer(r"^\| \[(\w+)\]\(#\w+\) \| (\w+) \|", RUNBOOK.read_text(), re.M)
    }
    rules = alert_rules()
    assert listed == {name: rule["labels"]["severity"] for name, rule in rules.items()}


def test_the_monitoring_readme_lists_every_alert_of_alerts_yml() -> None:
    (row,) = (
        line
        for line in MONITORING_README.read_text().splitlines()
        if line.startswith("| `alerts.yml`")
    )
    listed = set(re.findall(r"`(\w+)`", row.split("|")[2]))
    rules = set(alert_rules())
    assert listed == rules, f"missing: {rules - listed}, not in alerts.yml: {listed - rules}"


def test_the_monitoring_readme_curl_commands_send_their_urls_unglobbed() -> None:
    # curl reads {} and [] in a URL as its own globs: `?query=up{job="serve"}` reached
    # Prometheus as `upjob="serve"`, refused as bad_data. A query goes in --data-urlencode.
    commands = [
        line.strip()
        for line in MONITORING_README.read_text().splitlines()
        if line.lstrip().startswith("curl ")
    ]
    assert commands, "the README's local run queries Prometheus with curl"
    for command in commands:
        globbed = [url for url in re.findall(r"https?://\S+", command) if re.search(r"[][{}]", url)]
        unglobbed = re.search(r"\s(--globoff|-[a-zA-Z]*g)\b", command)
        assert not globbed or unglobbed, f"curl would glob {globbed} in: {command}"


def test_metric_names_reads_selectors_not_functions_or_labels() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{job="serve", le=~"x"}[5m])))'
        ' / on (job) group_left b_total offset 5m > bool 0.2 and up{job="x"} == 0'
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "up"}


def test_the_drift_check_counts_unobserved_batches_of_the_last_hour_as_the_alert_does(
    tmp_path: Path,
) -> None:
    """The retraining DAG's drift check decides nothing while its query is above 0
    (flight_orchestration.drift): above 0 while ServeObserveFailing fires on the same series
    (alerts_test.yml), a rise or a count before an instance's first scrape, and 0 once it
    clears, or never fired."""
    above_zero = f"({UNOBSERVED_QUERY}) > bool 0"
    cases = {
        # A rise at 6m; clears an hour later.
        '{instance="a:3000"}': ("0x5 3x145", {"10m": 1, "50m": 1, "130m": 0}),
        # Never any: quiet throughout, from its first scrape.
        '{instance="b:3000"}': ("_x3 0x147", {"10m": 0, "130m": 0}),
        # Counted before its first scrape (its series appears at 3m at 2).
        '{instance="c:3000"}': ("_x3 2x147", {"10m": 1, "50m": 1, "130m": 0}),
    }
    tests = [
        {
            "interval": "1m",
            "input_series": [{"series": OBSERVE_FAILURES + labels, "values": values}],
            "promql_expr_test": [
                {
                    "expr": above_zero,
                    "eval_time": when,
                    "exp_samples": [{"labels": "{}", "value": v}],
                }
                for when, v in expected.items()
            ],
        }
        for labels, (values, expected) in cases.items()
    ]
    rules = tmp_path / "unobserved_test.yml"
    rules.write_text(yaml.safe_dump({"rule_files": [], "tests": tests}))
    result = promtool("test", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
