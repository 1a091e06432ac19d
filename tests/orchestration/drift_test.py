"""The drift check (flight_orchestration.drift): the PSI gauges read from a /metrics page or
Prometheus' query API, the values refused, and the decision. Plain Python, so these run in the
services' resolve, where Hypothesis is typed; the check against a real serve service is
tests/serving/drift_check_test.py."""

from __future__ import annotations

import json
import math
import re
import string
import urllib.parse
from collections.abc import Callable, Iterator
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
    """What the loopback Prometheus answers: for the PSI query, one sample of feature "origin";
    for the unobserved batches' query, one sample of `unobserved`, or none (no series)."""

    value: object = "0.31"
    unobserved: object = None


@pytest.fixture
def prometheus() -> Iterator[tuple[str, PrometheusAnswer]]:
    """A loopback HTTP server answering like Prometheus' query API (no Prometheus here)."""
    answer = PrometheusAnswer()

    def respond(path: str) -> tuple[bytes, str]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["query"]
        if query == [drift.PROMETHEUS_QUERY]:
            result = [{"metric": {"feature": "origin"}, "value": [1, answer.value]}]
        else:
            assert query == [drift.UNOBSERVED_QUERY], path
            result = (
                []
                if answer.unobserved is None
                else [{"metric": {}, "value": [1, answer.unobserved]}]
            )
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        return json.dumps(body).encode(), "application/json"

    with page_server(respond) as url:
        yield url, answer


def test_read_prometheus(prometheus: tuple[str, PrometheusAnswer]) -> None:
    url, answer = prometheus
    assert drift.read_prometheus(url) == {"origin": 0.31}
    answer.unobserved = "0"
    assert drift.read_prometheus(url) == {"origin": 0.31}


@pytest.mark.parametrize("unobserved", ["1", "0.4"])
def test_gauges_a_replica_left_unobserved_in_the_last_hour_decide_nothing(
    prometheus: tuple[str, PrometheusAnswer], unobserved: str
) -> None:
    """Before, the check decided on PSI gauges that kept their values while serve failed to
    observe its batches (ServeObserveFailing firing): a stale drift, or a stale calm."""
    url, answer = prometheus
    answer.unobserved = unobserved  # increase() extrapolates: a fraction counts too
    with pytest.raises(
        drift.DriftCheckError,
        match=f"batches in the last hour were not observed .*counts {unobserved}",
    ):
        drift.read_prometheus(url)


def test_a_metrics_page_whose_server_left_batches_unobserved_decides_nothing() -> None:
    observed = METRICS + f"{drift.OBSERVE_FAILURES} 0.0\n"
    assert drift.parse_unobserved(observed) == 0
    assert drift.parse_unobserved(METRICS) == 0  # a server from before the counter
    # One sample per worker process, or one summed: the batches of them all.
    workers = (
        f'{drift.OBSERVE_FAILURES}{{worker="1"}} 2.0\n{drift.OBSERVE_FAILURES}{{worker="2"}} 1.0\n'
    )
    assert drift.parse_unobserved(METRICS + workers) == 3

    unobserved = "batches since the server started were not observed .*counts 3;"
    with (
        page_server(lambda _: ((METRICS + workers).encode(), "text/plain")) as url,
        pytest.raises(drift.DriftCheckError, match=unobserved),
    ):
        drift.read_metrics_endpoint(f"{url}/metrics")
    with page_server(lambda _: (observed.encode(), "text/plain")) as url:
        assert drift.read_metrics_endpoint(f"{url}/metrics") == {"distance": 0.45, "carrier": 0.07}


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


# Each series the check reads, as a sample line of `value`, its reader, and what a refusal names.
SAMPLES: dict[str, tuple[Callable[[object], str], Callable[[str], float], str]] = {
    "psi": (
        lambda value: f'flight_delay_feature_psi{{feature="origin",worker="1"}} {value}\n',
        lambda text: drift.parse_metrics(text)["origin"],
        "the PSI of feature 'origin'",
    ),
    "unobserved": (
        lambda value: f"{drift.OBSERVE_FAILURES} {value}\n",
        drift.parse_unobserved,
        drift.OBSERVE_FAILURES,
    ),
}


@pytest.mark.parametrize("series", SAMPLES)
@given(value=st.floats() | st.text(alphabet=string.printable.strip(), min_size=1))
def test_a_sample_is_read_as_a_number_or_refused_naming_its_series(
    series: str, value: float | str
) -> None:
    line, read, named = SAMPLES[series]
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if math.isfinite(number) and number >= 0:
        assert read(line(value)) == number
    else:
        with pytest.raises(drift.DriftCheckError, match=re.escape(f"{named} is")):
            read(line(value))


def test_an_unreachable_endpoint_names_the_url() -> None:
    with pytest.raises(
        drift.DriftCheckError, match=r"cannot read PSI gauges from http://127\.0\.0\.1:9/metrics"
    ):
        drift.read_metrics_endpoint("http://127.0.0.1:9/metrics", timeout=5)
    with pytest.raises(drift.DriftCheckError, match="not an http"):
        drift.read_metrics_endpoint("file:///etc/passwd")
