"""The drift check: read the serve service's per-feature PSI gauges and decide whether to
retrain. Plain Python (no Airflow), so the retraining DAG and the serving tests share it.

The gauges come from the serve service's Prometheus endpoint (`/metrics`, text exposition
format) or from Prometheus' HTTP API (`max by (feature)` over the service's replicas).
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

GAUGE = "flight_delay_feature_psi"
# A sample line of the gauge: name{labels} value [timestamp].
_SAMPLE = re.compile(rf"^{GAUGE}\{{(?P<labels>[^}}]*)\}}\s+(?P<value>\S+)")
_FEATURE = re.compile(r'(?:^|,)\s*feature="(?P<feature>(?:[^"\\]|\\.)*)"')
PROMETHEUS_QUERY = f"max by (feature) ({GAUGE})"
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


def psi_value(feature: str, value: object, source: str) -> float:
    """A gauge's value as a PSI: a finite number, 0 or more (the serve service's PSI always is).
    Anything else is refused by name: skipping it could hide the drift it stands for."""
    try:
        # Through str: a JSON true is no PSI of 1.0.
        psi = float(str(value))
    except ValueError:
        psi = math.nan
    if not math.isfinite(psi) or psi < 0:
        raise DriftCheckError(
            f"{source}: the PSI of feature {feature!r} is {value!r}, not a finite number >= 0"
        )
    return psi


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
    """The PSI gauges on a service's /metrics page."""
    text = _get(url, timeout).decode("utf-8", errors="replace")
    if "# TYPE" not in text and GAUGE not in text:
        raise DriftCheckError(f"{url} does not look like a Prometheus /metrics page")
    return parse_metrics(text, url)


def read_prometheus(base_url: str, timeout: float = TIMEOUT_SECONDS) -> dict[str, float]:
    """The PSI gauges through Prometheus' HTTP API (the highest over the service's replicas)."""
    query = urllib.parse.urlencode({"query": PROMETHEUS_QUERY})
    url = f"{base_url.rstrip('/')}/api/v1/query?{query}"
    try:
        body = json.loads(_get(url, timeout))
        if body["status"] != "success":
            raise DriftCheckError(f"{url}: Prometheus says {body.get('error', body['status'])}")
        result = body["data"]["result"]
        samples = [
            (sample["metric"]["feature"], sample["value"][1])
            for sample in result
            if "feature" in sample["metric"]
        ]
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise DriftCheckError(f"{url}: not a Prometheus query answer ({error!r})") from error
    return {feature: psi_value(feature, value, url) for feature, value in samples}
