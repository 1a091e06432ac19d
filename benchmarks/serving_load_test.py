from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bentoml._internal.configuration.containers import BentoMLConfiguration

from benchmarks import serving_load


def never_started() -> None:
    raise AssertionError("the benchmark started")


def test_an_output_that_cannot_take_the_report_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before, the report was saved after every run (10 minutes), and the error named the file
    # written aside, not the one given.
    monkeypatch.setattr(serving_load, "promoted", never_started)
    output = tmp_path / "serving.json"
    output.mkdir()
    with pytest.raises(SystemExit) as exited:
        serving_load.main(["--quick", "--output", str(output)])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --output: cannot save the report as {output}: Is a directory" in error
    assert ".saving" not in error


@pytest.mark.parametrize(
    ("argv", "report"), [([], "serving_load.json"), (["--quick"], "serving_load-quick.json")]
)
def test_without_an_output_the_report_goes_under_build_benchmarks_of_the_checkout(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    report: str,
) -> None:
    # docs/benchmarks.md says every benchmark leaves build/benchmarks/<name>.json; this one left
    # nothing unless given --output. A quick run's goes beside it, so it replaces no measurement.
    # Shown by the path it refuses, before any work.
    monkeypatch.setattr(serving_load, "promoted", never_started)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "build" / "benchmarks" / report).mkdir(parents=True)
    with pytest.raises(SystemExit):
        serving_load.main(argv)
    error = capsys.readouterr().err
    assert f"cannot save the report as build/benchmarks/{report}: Is a directory" in error


def _workers_of_bare(command: list[str]) -> int:
    return int(command[command.index("--workers") + 1])


# The service as serve/service.py names it, and the options BentoML reads from the environment.
SERVICE = "FlightDelayService"
OPTIONS = "BENTOML_CONFIG_OPTIONS"


def _workers_of_bentoml(extra_env: Mapping[str, str]) -> Any:
    """The service's worker count as `bentoml serve` reads it, the way the service loads its
    configuration (`inject_config`): its decorator's settings as defaults, the options over
    them."""
    config = BentoMLConfiguration(
        override_defaults={"services": {SERVICE: {"workers": "cpu_count"}}},
        override_config_values=extra_env.get(OPTIONS),
        use_version=2,
    ).to_dict()
    return config["services"][SERVICE]["workers"]


def test_both_servers_run_the_workers_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, --workers set the bare server's count only, and the service ran its own
    # workers="cpu_count": a run with any other count compared unequal servers.
    started: dict[str, tuple[list[str], Mapping[str, str]]] = {}

    @contextmanager
    def fake_server(
        command: list[str], log: Path, extra_env: Mapping[str, str] | None = None
    ) -> Iterator[int]:
        started[log.name] = (command, extra_env or {})
        yield 0

    level = {"concurrency": 1, "requests_per_s": 1.0, "p50_ms": 1.0, "p95_ms": 1.0,
             "p99_ms": 1.0, "statuses": {"200": 1}}  # fmt: skip
    monkeypatch.setattr(serving_load, "server", fake_server)
    monkeypatch.setattr(serving_load, "promoted", lambda: (None, "version"))
    monkeypatch.setattr(serving_load, "location", lambda version: version)
    monkeypatch.setattr(serving_load, "wait_seconds", lambda: 0)
    monkeypatch.setattr(serving_load, "fetch", lambda *_: SimpleNamespace(online_store=None))
    monkeypatch.setattr(serving_load, "sample_flights", lambda *_: [])
    monkeypatch.setattr(serving_load, "in_process", lambda *_: {"one_flight_ms": 1.0})
    monkeypatch.setattr(serving_load, "load_levels", lambda *_: {"1": [level]})
    output = tmp_path / "serving.json"
    assert serving_load.main(["--quick", "--workers", "3", "--output", str(output)]) == 0

    bare_command, _ = started["bare-0.log"]
    bentoml_command, bentoml_env = started["bentoml-0.log"]
    assert bentoml_command[-1] == f"serve.service:{SERVICE}"
    assert _workers_of_bare(bare_command) == 3
    assert _workers_of_bentoml(bentoml_env) == 3


def test_the_service_s_worker_count_comes_after_the_options_the_environment_gives() -> None:
    environ = {
        OPTIONS: f"services.{SERVICE}.workers=1 services.{SERVICE}.traffic.max_concurrency=2"
    }
    extra_env = serving_load.bentoml_env(4, environ)
    assert _workers_of_bentoml(extra_env) == 4
    assert f"services.{SERVICE}.traffic.max_concurrency=2" in extra_env[OPTIONS]


def _run(bare: list[float], bentoml: list[float]) -> dict[str, Any]:
    """One run's report: single-flight levels at these requests/s."""

    def levels(rates: list[float]) -> dict[str, list[dict[str, Any]]]:
        return {"1": [{"concurrency": 2**i, "requests_per_s": rate, "p50_ms": 1.0,
                       "p95_ms": 1.0, "p99_ms": 1.0, "statuses": {"200": 1}}
                      for i, rate in enumerate(rates)]}  # fmt: skip

    return {"in_process": {"one_flight_ms": 1.0}, "bare": levels(bare), "bentoml": levels(bentoml)}


def test_bentoml_over_bare_is_the_median_of_each_run_s_own_ratio() -> None:
    # Before, it was the ratio of the peaks of the median levels, so a run whose servers were
    # both slow (a loaded machine) set one side's median and another run the other's: here
    # 100 / 200 = 0.5, though BentoML reached 0.9 to 1.1 of the bare peak in every run but one.
    runs = [_run([50, 100], [90, 60]), _run([200, 150], [100, 90]), _run([300, 280], [330, 10])]
    summary = serving_load.summary(runs)
    assert summary["bentoml_over_bare"] == {"1": 0.9}
    assert summary["bentoml_over_bare_per_run"] == [{"1": 0.9}, {"1": 0.5}, {"1": 1.1}]
    # The peaks stay those of the median levels: the old ratio is still peaks' quotient.
    assert summary["peaks"] == {"bare": {"1": 200}, "bentoml": {"1": 100}}
