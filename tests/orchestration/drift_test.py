"""The drift check (flight_orchestration.drift): the PSI gauges read from a /metrics page or
Prometheus' query API, the values refused, and the decision. Plain Python, so these run in the
services' resolve, where Hypothesis is typed; the check against a real serve service is
tests/serving/drift_check_test.py."""

from __future__ import annotations

import json
import math
import string
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flight_orchestration import drift
from loopback.pages import page_server

METRICS = """# HELP flight_delay_feature_psi Population stability index of each feature
# TYPE flight_delay_feature_psi gauge
flight_delay_feature_psi{feature="distance"} 0.45
flight_delay_feature_psi{feature="carrier"} 0.05
flight_delay_feature_psi{feature="carrier",worker="2"} 0.07
flight_delay_feature_psi_other{feature="x"} 9
flight_delay_probability_count 50.0
"""


def test_parse_metrics_and_decide() -> None:
    psi = drift.parse_metrics(METRICS)
    assert psi == {"distance": 0.45, "carrier": 0.07}
    decision = drift.decide(psi, 0.2)
    assert decision.retrain and decision.drifted == {"distance": 0.45}
    assert "distance 0.450" in decision.reason
    assert not drift.decide(psi, 0.5).retrain
    assert not drift.decide({}, 0.2).retrain
    with pytest.raises(drift.DriftCheckError, match="threshold"):
        drift.decide(psi, -0.1)


@dataclass
class PrometheusAnswer:
    """What the loopback Prometheus answers for the PSI query: one sample of feature "origin"."""

    value: object = "0.31"


@pytest.fixture
def prometheus() -> Iterator[tuple[str, PrometheusAnswer]]:
    """A loopback HTTP server answering like Prometheus' query API (no Prometheus here)."""
    answer = PrometheusAnswer()

    def respond(path: str) -> tuple[bytes, str]:
        assert "query=max+by+%28feature%29" in path, path
        body = {
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [{"metric": {"feature": "origin"}, "value": [1, answer.value]}],
            },
        }
        return json.dumps(body).encode(), "application/json"

    with page_server(respond) as url:
        yield url, answer


def test_read_prometheus(prometheus: tuple[str, PrometheusAnswer]) -> None:
    url, _ = prometheus
    assert drift.read_prometheus(url) == {"origin": 0.31}


NO_PSI = ["NaN", "+Inf", "-Inf", "-0.5", "0,3", "", None, [0.3]]


@pytest.mark.parametrize("value", NO_PSI, ids=repr)
def test_a_gauge_that_holds_no_psi_is_refused_naming_its_feature(
    prometheus: tuple[str, PrometheusAnswer], value: object
) -> None:
    # Skipped, a NaN or an infinite PSI would hide the drift it stands for.
    url, answer = prometheus
    answer.value = value
    with pytest.raises(drift.DriftCheckError, match=r"PSI of feature 'origin' is .*not a finite"):
        drift.read_prometheus(url)
    if isinstance(value, str) and value:
        text = f'flight_delay_feature_psi{{feature="origin"}} {value}\n'
        with pytest.raises(drift.DriftCheckError, match=r"the /metrics page: .*'origin'"):
            drift.parse_metrics(text)


@given(value=st.floats() | st.text(alphabet=string.printable.strip(), min_size=1))
def test_a_gauge_is_read_as_a_psi_or_refused(value: float | str) -> None:
    text = f'flight_delay_feature_psi{{feature="origin",worker="1"}} {value}\n'
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if math.isfinite(number) and number >= 0:
        assert drift.parse_metrics(text) == {"origin": number}
    else:
        with pytest.raises(drift.DriftCheckError, match="'origin'"):
            drift.parse_metrics(text)


def test_an_unreachable_endpoint_names_the_url() -> None:
    with pytest.raises(
        drift.DriftCheckError, match=r"cannot read PSI gauges from http://127\.0\.0\.1:9/metrics"
    ):
        drift.read_metrics_endpoint("http://127.0.0.1:9/metrics", timeout=5)
    with pytest.raises(drift.DriftCheckError, match="not an http"):
        drift.read_metrics_endpoint("file:///etc/passwd")
