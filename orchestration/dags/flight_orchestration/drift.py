"""The drift check: read the serve service's per-feature PSI gauges and decide whether to
retrain. Plain Python (no Airflow), so the retraining DAG and the serving tests share it.

The gauges come from the serve service's Prometheus endpoint (`/metrics`, text exposition
format) or from Prometheus' HTTP API (`max by (feature)` over the service's replicas).

A batch whose observing failed leaves the gauges at the values they had: the check decides
nothing while the service counts such batches (`flight_delay_observe_failures_total`, the
ServeObserveFailing alert), over the last hour through Prometheus, and since the server started
on a /metrics page (one instance's counter, which has no history).
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

GAUGE = "flight_delay_feature_psi"
# A sample line of the gauge: name{labels} value [timestamp].
_SAMPLE = re.compile(rf"^{GAUGE}\{{(?P<labels>[^}}]*)\}}\s+(?P<value>\S+)")
_FEATURE = re.compile(r'(?:^|,)\s*feature="(?P<feature>(?:[^"\\]|\\.)*)"')
PROMETHEUS_QUERY = f"max by (feature) ({GAUGE})"
# serve.metrics.OBSERVE_FAILURES: batches scored and answered whose drift update then failed.
OBSERVE_FAILURES = "flight_delay_observe_failures_total"
_FAILURES = re.compile(rf"^{OBSERVE_FAILURES}(?:\{{[^}}]*\}})?\s+(?P<value>\S+)")
# Over the last hour, as the ServeObserveFailing alert counts them: the counters' rise, plus the
# count of a replica that first reported within the hour (failures before its first scrape,
# which increase() cannot see). Either part may have no series.
UNOBSERVED_QUERY = (
    f"(sum(increase({OBSERVE_FAILURES}[1h])) or vector(0))"
    f" + (sum({OBSERVE_FAILURES} unless {OBSERVE_FAILURES} offset 1h) or vector(0))"
)
TIMEOUT_SECONDS = 10.0


class DriftCheckError(RuntimeError):
    """The PSI gauges cannot be read or the threshold is wrong; the message says which."""


@dataclass(frozen=True)
class Decision:
    retrain: bool
    threshold: float
    # Every feature's PSI, and those above the threshold.
    psi: dict[str, float]
    drifted: dict[str, float] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        if not self.psi:
            return (
                "no PSI samples yet (no serve worker has scored a full drift window of rows): "
                "no retraining"
            )
        if not self.retrain:
            worst = max(self.psi, key=lambda f: self.psi[f])
            return (
                f"no drift: the highest PSI is {worst} {self.psi[worst]:.3f}, "
                f"not above {self.threshold}"
            )
        shifted = ", ".join(f"{f} {v:.3f}" for f, v in sorted(self.drifted.items()))
        return f"drift: PSI above {self.threshold} for {shifted}: retraining"


def check_threshold(threshold: float) -> float:
    if not isinstance(threshold, int | float) or not math.isfinite(threshold) or threshold <= 0:
        raise DriftCheckError(f"PSI threshold {threshold!r} must be a finite number above 0")
    return float(threshold)


def decide(psi: dict[str, float], threshold: float) -> Decision:
    """Retrain when any feature's PSI is above the threshold."""
    threshold = check_threshold(threshold)
    drifted = {name: value for name, value in psi.items() if value > threshold}
    return Decision(bool(drifted), threshold, dict(psi), drifted)


def _non_negative(value: object, what: str, source: str) -> float:
    """A sample's value as a finite number, 0 or more (every series the check reads is one);
    anything else is refused, naming `what` it was: skipping it could hide what it counts."""
    try:
        # Through str: a JSON true is no 1.0.
        number = float(str(value))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise DriftCheckError(f"{source}: {what} is {value!r}, not a finite number >= 0")
    return number


def psi_value(feature: str, value: object, source: str) -> float:
    """A gauge's value as a PSI (the serve service's PSI is never negative)."""
    return _non_negative(value, f"the PSI of feature {feature!r}", source)


def parse_metrics(text: str, source: str = "the /metrics page") -> dict[str, float]:
    """The PSI per feature in a Prometheus text exposition (the highest, if a feature has
    several samples, e.g. one per worker process)."""
    psi: dict[str, float] = {}
    for line in text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None:
            continue
        feature = _FEATURE.search(sample["labels"])
        if feature is None:
            continue
        name = feature["feature"]
        value = psi_value(name, sample["value"], source)
        psi[name] = max(value, psi.get(name, value))
    return psi


def check_observed(unobserved: float, span: str, source: str) -> None:
    """Refuse to decide on gauges that lag the traffic: `unobserved` batches (`span`, as
    `source` counts them) were scored without their drift update."""
    if unobserved > 0:
        raise DriftCheckError(
            f"{source}: scored batches {span} were not observed ({OBSERVE_FAILURES} counts "
            f"{unobserved:g}; the ServeObserveFailing alert): the PSI gauges lag the "
            "traffic, so no decision is made until serve observes its batches again "
            "(docs/runbook.md#serveobservefailing)"
        )


def parse_unobserved(text: str, source: str = "the /metrics page") -> float:
    """The batches left unobserved on a Prometheus text exposition (summed over its samples)."""
    return sum(
        _non_negative(sample["value"], OBSERVE_FAILURES, source)
        for sample in map(_FAILURES.match, text.splitlines())
        if sample is not None
    )


def _get(url: str, timeout: float) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DriftCheckError(f"{url!r} is not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # (checked)
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as error:
        raise DriftCheckError(f"cannot read PSI gauges from {url}: HTTP {error.code}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DriftCheckError(f"cannot read PSI gauges from {url}: {reason}") from error


def read_metrics_endpoint(url: str, timeout: float = TIMEOUT_SECONDS) -> dict[str, float]:
    """The PSI gauges on a service's /metrics page; DriftCheckError if the server has left
    batches unobserved since it started."""
    text = _get(url, timeout).decode("utf-8", errors="replace")
    if "# TYPE" not in text and GAUGE not in text:
        raise DriftCheckError(f"{url} does not look like a Prometheus /metrics page")
    psi = parse_metrics(text, url)
    check_observed(parse_unobserved(text, url), "since the server started", url)
    return psi


def _query(base_url: str, query: str, timeout: float) -> tuple[str, list[dict[str, Any]]]:
    """The URL of a Prometheus instant query and its samples."""
    url = f"{base_url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    try:
        body = json.loads(_get(url, timeout))
        if body["status"] != "success":
            raise DriftCheckError(f"{url}: Prometheus says {body.get('error', body['status'])}")
        result = body["data"]["result"]
        if not isinstance(result, list) or not all(isinstance(s, dict) for s in result):
            raise TypeError(f"result is {result!r}")
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise DriftCheckError(f"{url}: not a Prometheus query answer ({error!r})") from error
    return url, result


def read_prometheus(base_url: str, timeout: float = TIMEOUT_SECONDS) -> dict[str, float]:
    """The PSI gauges through Prometheus' HTTP API (the highest over the service's replicas);
    DriftCheckError if a replica left batches unobserved in the last hour."""
    url, result = _query(base_url, PROMETHEUS_QUERY, timeout)
    try:
        samples = [
            (sample["metric"]["feature"], sample["value"][1])
            for sample in result
            if "feature" in sample["metric"]
        ]
    except (KeyError, TypeError, IndexError) as error:
        raise DriftCheckError(f"{url}: not a Prometheus query answer ({error!r})") from error
    psi = {feature: psi_value(feature, value, url) for feature, value in samples}
    failures_url, failures = _query(base_url, UNOBSERVED_QUERY, timeout)
    try:
        unobserved = sum(
            _non_negative(sample["value"][1], OBSERVE_FAILURES, failures_url) for sample in failures
        )
    except (KeyError, TypeError, IndexError) as error:
        raise DriftCheckError(
            f"{failures_url}: not a Prometheus query answer ({error!r})"
        ) from error
    check_observed(unobserved, "in the last hour", failures_url)
    return psi
