"""The retraining DAG run for real by Airflow (`dag.test()`, SQLite metadata): PSI gauges above
the threshold make the branch pick the trigger, which creates a run of the pipeline DAG; below
it, nothing is triggered; an Alertmanager payload as run conf triggers without reading the
gauges; an unreachable endpoint fails the check with the URL in the error.

The gauges here come from a loopback page in the serve service's format; the real service's
gauges drive this DAG, run through the Airflow CLI, in tests/serving/drift_check_test.py."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.models.dag import DAG
from airflow.models.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.utils import timezone
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState, TaskInstanceState

from flight_orchestration import drift, retrain, settings
from flight_orchestration.pipeline import DAG_ID as PIPELINE
from loopback.pages import page_server
from tests.orchestration.conftest import DAG_FOLDER, SANDBOX_ROOT


class Page:
    text = ""


@pytest.fixture(scope="module")
def metrics_page() -> Iterator[tuple[str, type[Page]]]:
    with page_server(lambda _: (Page.text.encode(), "text/plain; version=0.0.4")) as url:
        yield f"{url}/metrics", Page


def gauges(values: dict[str, float]) -> str:
    lines = [f"# TYPE {drift.GAUGE} gauge"]
    lines += [f'{drift.GAUGE}{{feature="{name}"}} {value}' for name, value in values.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def dags(airflow_db: None) -> dict[str, DAG]:
    """Both DAGs, written to the metadata database (a trigger needs its target there)."""
    bag = DagBag(dag_folder=str(DAG_FOLDER), include_examples=False)
    assert bag.import_errors == {}
    bag.sync_to_db()
    return bag.dags  # type: ignore[no-any-return]


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, metrics_page: tuple[str, type[Page]]) -> type[Page]:
    url, page = metrics_page
    # Variables in their environment form; the threshold comes from the repo's params.yaml.
    monkeypatch.setenv(settings.environment_variable(settings.REPO_VARIABLE), str(SANDBOX_ROOT))
    monkeypatch.setenv(settings.environment_variable(settings.METRICS_URL_VARIABLE), url)
    return page


def pipeline_runs() -> list[DagRun]:
    return DagRun.find(dag_id=PIPELINE)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def no_pending_pipeline_run() -> Iterator[None]:
    """Each test starts with no pipeline run queued (a trigger's run stays queued here: no
    scheduler runs it) nor one that succeeded within the cooldown: it ends with the ones it
    triggered failed."""
    yield
    with create_session() as session:
        for run in session.query(DagRun).filter(DagRun.dag_id == PIPELINE):
            run.set_state(DagRunState.FAILED)


def states(run: DagRun) -> dict[str, Any]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_drift_above_the_threshold_triggers_the_pipeline(
    dags: dict[str, DAG], configured: type[Page]
) -> None:
    configured.text = gauges({"distance": 0.93, "carrier": 0.04})
    before = len(pipeline_runs())
    run = dags[retrain.DAG_ID].test()
    assert run.state == DagRunState.SUCCESS
    assert states(run) == {
        retrain.CHECK_TASK: TaskInstanceState.SUCCESS,
        retrain.TRIGGER_TASK: TaskInstanceState.SUCCESS,
        retrain.NO_DRIFT_TASK: TaskInstanceState.SKIPPED,
    }
    runs = pipeline_runs()
    assert len(runs) == before + 1
    triggered = max(runs, key=lambda r: r.execution_date)
    threshold = settings.params_threshold(SANDBOX_ROOT)
    assert (
        triggered.conf["reason"] == f"drift: PSI above {threshold} for distance 0.930: retraining"
    )


def test_drift_triggers_nothing_while_a_pipeline_run_is_pending(
    dags: dict[str, DAG], configured: type[Page]
) -> None:
    """Drift lasts until a retrained model serves: each hour's check queued another full run."""
    configured.text = gauges({"distance": 0.93})
    first = dags[retrain.DAG_ID].test()
    assert states(first)[retrain.TRIGGER_TASK] == TaskInstanceState.SUCCESS
    (pending,) = (r for r in pipeline_runs() if r.state == DagRunState.QUEUED)
    again = dags[retrain.DAG_ID].test()
    assert states(again) == {
        retrain.CHECK_TASK: TaskInstanceState.SUCCESS,
        retrain.TRIGGER_TASK: TaskInstanceState.SKIPPED,
        retrain.NO_DRIFT_TASK: TaskInstanceState.SUCCESS,
    }
    assert [r.run_id for r in pipeline_runs() if r.state == DagRunState.QUEUED] == [pending.run_id]
    check = again.get_task_instance(retrain.CHECK_TASK)
    assert check is not None
    reason = check.xcom_pull(key=retrain.REASON_KEY)
    assert reason.endswith(f"not triggered again: {pending.run_id} is queued or running")


def start(run_id: str, started: dt.datetime) -> None:
    """Mark a pipeline run running since `started`, as if a scheduler had started it then."""
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.run_id == run_id).one()
        run.set_state(DagRunState.RUNNING)
        run.start_date = started


def test_a_run_running_for_longer_than_the_run_timeout_fails_the_check_naming_it(
    dags: dict[str, DAG], configured: type[Page], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hung run counted as pending: every hour's check said it would retrain, for good."""
    configured.text = gauges({"distance": 0.93})
    first = dags[retrain.DAG_ID].test()
    assert states(first)[retrain.TRIGGER_TASK] == TaskInstanceState.SUCCESS
    (run,) = (r for r in pipeline_runs() if r.state == DagRunState.QUEUED)
    # Running for 23 hours: pending, within the default 24 h.
    start(run.run_id, timezone.utcnow() - dt.timedelta(hours=23))
    pending = dags[retrain.DAG_ID].test()
    assert states(pending)[retrain.TRIGGER_TASK] == TaskInstanceState.SKIPPED
    assert reason(pending).endswith(f"{run.run_id} is queued or running")
    # Running for 30 days, or for longer than a shorter timeout: hung.
    for started, timeout in ((dt.timedelta(days=30), None), (dt.timedelta(hours=23), "12")):
        if timeout is not None:
            monkeypatch.setenv(
                settings.environment_variable(settings.RUN_TIMEOUT_VARIABLE), timeout
            )
        start(run.run_id, timezone.utcnow() - started)
        with pytest.raises(
            retrain.HungRunError,
            match=rf"^pipeline run {re.escape(run.run_id)} \(started .* UTC\) has been running "
            rf"for longer than the {timeout or 24} h run timeout "
            r"\(flight_delay_run_timeout_hours\)",
        ):
            retrain.pending_pipeline_runs()
        hung = dags[retrain.DAG_ID].test()
        assert hung.state == DagRunState.FAILED
        assert states(hung)[retrain.CHECK_TASK] == TaskInstanceState.FAILED
        assert states(hung)[retrain.TRIGGER_TASK] == TaskInstanceState.UPSTREAM_FAILED


def succeed(run_id: str, ended: dt.datetime | None = None) -> None:
    """Mark a pipeline run succeeded, now or at `ended`, as if a scheduler had run it."""
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.run_id == run_id).one()
        run.set_state(DagRunState.SUCCESS)
        if ended is not None:
            run.end_date = ended


def reason(run: DagRun) -> str:
    check = run.get_task_instance(retrain.CHECK_TASK)
    assert check is not None
    return str(check.xcom_pull(key=retrain.REASON_KEY))


def test_drift_triggers_nothing_within_the_cooldown_after_a_run_succeeded(
    dags: dict[str, DAG], configured: type[Page], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drift lasts until a retrained model is deployed, which no DAG does: before, each
    hour's check started another full run on the same data once the last one had finished."""
    configured.text = gauges({"distance": 0.93})
    first = dags[retrain.DAG_ID].test()
    assert states(first)[retrain.TRIGGER_TASK] == TaskInstanceState.SUCCESS
    (retrained,) = (r for r in pipeline_runs() if r.state == DagRunState.QUEUED)
    succeed(retrained.run_id)

    again = dags[retrain.DAG_ID].test()
    assert states(again)[retrain.TRIGGER_TASK] == TaskInstanceState.SKIPPED
    assert not [r for r in pipeline_runs() if r.state == DagRunState.QUEUED]
    assert f"not triggered again: {retrained.run_id} succeeded at " in reason(again)
    assert reason(again).endswith(
        "within the 24 h cooldown (flight_delay_retrain_cooldown_hours): the drift lasts until "
        "its model is deployed"
    )

    # A longer cooldown still holds it back; once the run ended longer ago than the cooldown,
    # the check triggers again.
    variable = settings.environment_variable(settings.RETRAIN_COOLDOWN_VARIABLE)
    monkeypatch.setenv(variable, "48")
    succeed(retrained.run_id, ended=timezone.utcnow() - dt.timedelta(hours=25))
    held = dags[retrain.DAG_ID].test()
    assert states(held)[retrain.TRIGGER_TASK] == TaskInstanceState.SKIPPED
    assert "within the 48 h cooldown" in reason(held)
    monkeypatch.delenv(variable)
    later = dags[retrain.DAG_ID].test()
    assert states(later)[retrain.TRIGGER_TASK] == TaskInstanceState.SUCCESS


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_bad_cooldown_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    variable = settings.environment_variable(settings.RETRAIN_COOLDOWN_VARIABLE)
    monkeypatch.setenv(variable, value)
    with pytest.raises(
        settings.SettingError,
        match=rf"^Airflow Variable flight_delay_retrain_cooldown_hours: number of hours '{value}' ",
    ):
        retrain.cooldown_hours()


def test_no_drift_triggers_nothing(dags: dict[str, DAG], configured: type[Page]) -> None:
    configured.text = gauges({"distance": 0.05, "carrier": 0.19})
    before = len(pipeline_runs())
    run = dags[retrain.DAG_ID].test()
    assert states(run) == {
        retrain.CHECK_TASK: TaskInstanceState.SUCCESS,
        retrain.TRIGGER_TASK: TaskInstanceState.SKIPPED,
        retrain.NO_DRIFT_TASK: TaskInstanceState.SUCCESS,
    }
    assert len(pipeline_runs()) == before


def test_an_alertmanager_payload_triggers_without_reading_the_gauges(
    dags: dict[str, DAG], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The gauges' endpoint is unreachable: the firing alert alone decides.
    monkeypatch.setenv(
        settings.environment_variable(settings.METRICS_URL_VARIABLE), "http://127.0.0.1:9/metrics"
    )
    alert = {"status": "firing", "labels": {"alertname": "FeatureDrift", "feature": "distance"}}
    before = len(pipeline_runs())
    run = dags[retrain.DAG_ID].test(run_conf={"receiver": "airflow", "alerts": [alert]})
    assert states(run)[retrain.TRIGGER_TASK] == TaskInstanceState.SUCCESS
    runs = pipeline_runs()
    assert len(runs) == before + 1
    triggered = max(runs, key=lambda r: r.execution_date)
    assert triggered.conf["reason"] == "Alertmanager: FeatureDrift firing: retraining"


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ("FeatureDrift", r"^run conf 'alerts' is a str, not Alertmanager's list of alerts$"),
        ({"status": "firing"}, r"^run conf 'alerts' is a dict, not"),
        (["FeatureDrift"], r"^run conf 'alerts'\[0\] is not an Alertmanager alert .*: 'Feat"),
        (
            [{"status": "resolved", "labels": {}}, {"status": "firing", "labels": "FeatureDrift"}],
            r"^run conf 'alerts'\[1\] is not an Alertmanager alert",
        ),
        # Read as not firing before: a relay that capitalises the keys, or drops them.
        (
            [{"Status": "firing", "Labels": {"alertname": "FeatureDrift"}}],
            r"^run conf 'alerts'\[0\] is not an Alertmanager alert",
        ),
        ([{}], r"^run conf 'alerts'\[0\] is not an Alertmanager alert"),
        ([{"labels": {"alertname": "X"}}], r"^run conf 'alerts'\[0\] is not an Alertmanager"),
    ],
)
def test_a_malformed_alertmanager_payload_is_named_not_read_as_no_alerts(
    alerts: object, message: str
) -> None:
    # Before, each was read as no firing alert, and the check went on to the gauges.
    with pytest.raises(retrain.AlertPayloadError, match=message):
        retrain.firing_alerts({"receiver": "airflow", "alerts": alerts})


def test_a_payload_without_alerts_has_none_firing() -> None:
    assert retrain.firing_alerts(None) == retrain.firing_alerts({"alerts": None}) == []
    resolved = {"status": "resolved", "labels": {"alertname": "FeatureDrift"}}
    assert retrain.firing_alerts({"alerts": [resolved]}) == []


def test_an_unreachable_endpoint_fails_the_check_naming_it(
    dags: dict[str, DAG], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        settings.environment_variable(settings.METRICS_URL_VARIABLE), "http://127.0.0.1:9/metrics"
    )
    with pytest.raises(
        drift.DriftCheckError, match=r"cannot read PSI gauges from http://127\.0\.0\.1:9/metrics"
    ):
        retrain.read_psi()
    run = dags[retrain.DAG_ID].test()
    assert run.state == DagRunState.FAILED
    assert states(run)[retrain.CHECK_TASK] == TaskInstanceState.FAILED


def test_no_gauge_source_is_a_setting_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (settings.METRICS_URL_VARIABLE, settings.PROMETHEUS_URL_VARIABLE):
        monkeypatch.delenv(settings.environment_variable(name), raising=False)
    with pytest.raises(settings.SettingError, match="flight_delay_metrics_url"):
        retrain.read_psi()


def test_a_bad_threshold_variable_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.environment_variable(settings.PSI_THRESHOLD_VARIABLE), "lots")
    with pytest.raises(
        settings.SettingError, match="flight_delay_psi_threshold: PSI threshold 'lots'"
    ):
        retrain.threshold()
