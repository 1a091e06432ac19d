"""Where the DAGs find the repo checkout their tasks run in, and their other settings.

Every setting is an Airflow Variable. Airflow reads a Variable from the environment first
(`AIRFLOW_VAR_<NAME>`), then from the metadata database, so each can be set either way. At parse
time only the environment is read: a DAG file must not query the database on every parse.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import yaml

# The checkout the tasks run in (`./pants`, dvc.yaml, params.yaml). Default: the repo the DAG
# file sits in.
REPO_VARIABLE = "flight_delay_repo"
# The serve service's Prometheus endpoint, e.g. http://serve.internal:3000/metrics.
METRICS_URL_VARIABLE = "flight_delay_metrics_url"
# Or Prometheus itself, e.g. http://prometheus:9090 (its HTTP API is queried).
PROMETHEUS_URL_VARIABLE = "flight_delay_prometheus_url"
# Overrides params.yaml's monitor.psi_threshold.
PSI_THRESHOLD_VARIABLE = "flight_delay_psi_threshold"

HERE = Path(__file__).resolve().parent


class SettingError(ValueError):
    """A setting is missing or wrong; the message names it and says what is expected."""


def environment_variable(name: str) -> str:
    return f"AIRFLOW_VAR_{name.upper()}"


def check_repo(path: Path, source: str) -> Path:
    """`path` if it is a checkout of this repo, else a SettingError naming `source`."""
    if not path.is_dir():
        raise SettingError(f"{source}: the repo checkout {path} does not exist")
    missing = [name for name in ("dvc.yaml", "params.yaml", "pants") if not (path / name).is_file()]
    if missing:
        raise SettingError(
            f"{source}: {path} is not a checkout of the platform repo (no {', '.join(missing)})"
        )
    return path.resolve()


def enclosing_repo(start: Path = HERE) -> Path | None:
    """The repo this file sits in, if it sits in one (not in a zipped DAG bundle)."""
    for directory in (start, *start.parents):
        if (directory / "dvc.yaml").is_file() and (directory / "pants").is_file():
            return directory
    return None


def repo(configured: str | None) -> Path:
    """The checkout the tasks run in: `configured` (the Variable's value) if set, else the repo
    the DAG file sits in."""
    if configured:
        return check_repo(Path(configured), f"Airflow Variable {REPO_VARIABLE}")
    found = enclosing_repo()
    if found is None:
        raise SettingError(
            f"Airflow Variable {REPO_VARIABLE} is not set and the DAG file ({HERE}) is not "
            "inside a checkout of the platform repo: set it to the checkout's path "
            f"(or the environment variable {environment_variable(REPO_VARIABLE)})"
        )
    return check_repo(found, "the repo the DAG file sits in")


def parse_threshold(value: object, source: str) -> float:
    """A PSI threshold: a finite number above 0."""
    try:
        threshold = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SettingError(f"{source}: PSI threshold {value!r} is not a number") from None
    if not math.isfinite(threshold) or threshold <= 0:
        raise SettingError(f"{source}: PSI threshold {value!r} must be a finite number above 0")
    return threshold


def params_threshold(checkout: Path) -> float:
    """params.yaml's monitor.psi_threshold, the value the drift alert uses too."""
    params = yaml.safe_load((checkout / "params.yaml").read_text()) or {}
    value = (params.get("monitor") or {}).get("psi_threshold")
    if value is None:
        raise SettingError(f"{checkout / 'params.yaml'} has no monitor.psi_threshold")
    return parse_threshold(value, f"{checkout / 'params.yaml'} monitor.psi_threshold")


def parse_time_repo() -> Path | None:
    """The checkout whose dvc.yaml the pipeline DAG is built from, at parse time: the
    Variable's environment form if set, else the enclosing repo, else None (a DAG bundle
    carries its own copy of dvc.yaml)."""
    configured = os.environ.get(environment_variable(REPO_VARIABLE))
    if configured:
        return check_repo(Path(configured), environment_variable(REPO_VARIABLE))
    return enclosing_repo()
