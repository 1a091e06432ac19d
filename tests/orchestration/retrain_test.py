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
from airflow.models.dag import DAG, DagModel
from airflow.models.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.utils import timezone
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState, TaskInstanceState
from airflow.utils.types import DagRunType

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


def sync_dags() -> DagBag:
    """Both DAGs, written to the metadata database (a trigger needs its target there)."""
    bag = DagBag(dag_folder=str(DAG_FOLDER), include_examples=False)
    assert bag.import_errors == {}
    bag.sync_to_db()
    return bag


def pause_pipeline(paused: bool) -> None:
    pipeline = DagModel.get_dagmodel(PIPELINE)
    assert pipeline is not None
    pipeline.set_is_paused(paused)


@pytest.fixture(scope="module")
def dags(airflow_db: None) -> dict[str, DAG]:
    """Both DAGs in the metadata database, the pipeline unpaused, as a deployment must leave it
    (Airflow pauses a DAG when first written there, as MWAA does)."""
    bag = sync_dags()
    pause_pipeline(False)
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
def no_pipeline_run() -> Iterator[None]:
    """Each test starts with no pipeline run: none queued (a trigger's run stays queued here: no
    scheduler runs it), none that ended within the cooldown. It ends with its runs deleted."""
    yield
    with create_session() as session:
        for run in session.query(DagRun).filter(DagRun.dag_id == PIPELINE):
            session.delete(run)


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
    assert reason.endswith(
        f"no retrain triggered: {pending.run_id} is queued or running, and retrains on the "
        "current data"
    )


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
    assert f"{run.run_id} is queued or running" in reason(pending)
    # Past the timeout by less than the margin: the scheduler fails it on its next pass.
    start(run.run_id, timezone.utcnow() - dt.timedelta(hours=24, minutes=30))
    assert retrain.pending_pipeline_runs() == [run.run_id]
    # Running for 30 days, or for longer than a shorter timeout and the margin: hung.
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
            r"\(flight_delay_run_timeout_hours\) and an hour",
        ):
            retrain.pending_pipeline_runs()
        hung = dags[retrain.DAG_ID].test()
        assert hung.state == DagRunState.FAILED
        assert states(hung)[retrain.CHECK_TASK] == TaskInstanceState.FAILED
        assert states(hung)[retrain.TRIGGER_TASK] == TaskInstanceState.UPSTREAM_FAILED


@pytest.mark.parametrize("held_by", ["paused", "inactive"])
def test_a_retrain_asked_of_a_paused_or_inactive_pipeline_fails_the_check_naming_it(
    dags: dict[str, DAG], configured: type[Page], held_by: str
) -> None:
    """The scheduler starts and advances no run of a paused DAG (MWAA pauses a DAG when first
    deployed; an operator may pause it), nor of one whose DAG file is gone. The run drift
    triggered stayed queued, and every later check counted it as pending, said it would
    retrain and triggered none: for good, telling nobody."""
    configured.text = gauges({"distance": 0.93})
    drifted = f"drift: PSI above {settings.params_threshold(SANDBOX_ROOT)} for distance 0.930"

    def hold() -> None:
        if held_by == "paused":
            pause_pipeline(True)
        else:
            # As the DAG processor marks a DAG whose file it no longer finds in the DAG folder.
            DagModel.deactivate_deleted_dags(
                alive_dag_filelocs=[dags[retrain.DAG_ID].fileloc], processor_subdir=str(DAG_FOLDER)
            )

    if held_by == "paused":
        condition = "is paused"
        remedy = (
            "unpause it (the toggle in the UI, or `airflow dags unpause flight_delay_pipeline`); "
            "paused on purpose, pause flight_delay_retrain_on_drift too"
        )
    else:
        condition = "is not active (the scheduler no longer finds its DAG file)"
        remedy = "restore its DAG file (on MWAA, the DAG bundle) in the DAG folder"
    try:
        hold()
        # Nothing pending: the run a trigger would create would stay queued.
        refused = dags[retrain.DAG_ID].test()
        assert refused.state == DagRunState.FAILED
        assert states(refused)[retrain.CHECK_TASK] == TaskInstanceState.FAILED
        assert states(refused)[retrain.TRIGGER_TASK] == TaskInstanceState.UPSTREAM_FAILED
        assert pipeline_runs() == []
        with pytest.raises(
            retrain.PipelineNotScheduledError,
            match=rf"^{re.escape(drifted)}: retraining; but flight_delay_pipeline "
            rf"{re.escape(condition)}: the scheduler starts and advances none of its runs, so a "
            rf"run triggered now would stay queued\. To retrain, {re.escape(remedy)}$",
        ):
            retrain.choose_branch(dag_run=None)
        # A run triggered before the pipeline was held is named, not counted as pending.
        sync_dags()
        pause_pipeline(False)
        triggered = dags[retrain.DAG_ID].test()
        assert states(triggered)[retrain.TRIGGER_TASK] == TaskInstanceState.SUCCESS
        (queued,) = pipeline_runs()
        hold()
        held = dags[retrain.DAG_ID].test()
        assert states(held)[retrain.CHECK_TASK] == TaskInstanceState.FAILED
        with pytest.raises(
            retrain.PipelineNotScheduledError,
            match=rf"; but flight_delay_pipeline {re.escape(condition)}: the scheduler starts and "
            rf"advances none of its runs, so {re.escape(queued.run_id)} \(queued\) will not "
            r"retrain, and no retrain can start behind it\. To retrain, ",
        ):
            retrain.choose_branch(dag_run=None)
        # Held with no drift, the check does not care: nothing to retrain.
        configured.text = gauges({"distance": 0.05})
        calm = dags[retrain.DAG_ID].test()
        assert states(calm)[retrain.NO_DRIFT_TASK] == TaskInstanceState.SUCCESS
    finally:
        sync_dags()
        pause_pipeline(False)
    # Released: the queued run is pending again, and drift waits for it.
    configured.text = gauges({"distance": 0.93})
    pending = dags[retrain.DAG_ID].test()
    assert states(pending)[retrain.TRIGGER_TASK] == TaskInstanceState.SKIPPED
    assert f"{queued.run_id} is queued or running" in reason(pending)


def end(run_id: str, state: DagRunState, ended: dt.datetime | None = None) -> None:
    """Mark a pipeline run ended in `state`, now or at `ended`, as if a scheduler had run it."""
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.run_id == run_id).one()
        run.set_state(state)
        if ended is not None:
            run.end_date = ended


def succeed(run_id: str, ended: dt.datetime | None = None) -> None:
    end(run_id, DagRunState.SUCCESS, ended)


def scheduled_run(dags: dict[str, DAG], days_ago: int) -> str:
    """A daily scheduled run of the pipeline, as the scheduler creates it; its run ID."""
    logical = timezone.utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    logical -= dt.timedelta(days=days_ago)
    run = dags[PIPELINE].create_dagrun(
        run_type=DagRunType.SCHEDULED,
        execution_date=logical,
        data_interval=(logical, logical + dt.timedelta(days=1)),
        state=DagRunState.RUNNING,
        run_id=f"scheduled__{logical.isoformat()}",
    )
    return str(run.run_id)


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
    assert f"no retrain triggered: {retrained.run_id} succeeded at " in reason(again)
    assert reason(again).endswith(
        "within the 24 h cooldown (flight_delay_retrain_cooldown_hours), and retrained on the "
        "current data; the drift lasts until its model, if the promotion gate took it, is deployed"
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


def test_the_daily_scheduled_run_is_the_retrain_drift_asks_for(
    dags: dict[str, DAG], configured: type[Page]
) -> None:
    """With a healthy schedule the daily run succeeds within every 24 h, so drift never
    triggers one: the check said "not triggered again", as though it had retrained. It is the
    scheduled run that retrained on the drifted data, and the check says so."""
    configured.text = gauges({"distance": 0.93})
    yesterday = scheduled_run(dags, days_ago=1)
    succeed(yesterday, ended=timezone.utcnow() - dt.timedelta(hours=23))
    held = dags[retrain.DAG_ID].test()
    assert states(held)[retrain.TRIGGER_TASK] == TaskInstanceState.SKIPPED
    assert reason(held).startswith(
        f"drift: PSI above {settings.params_threshold(SANDBOX_ROOT)} for distance 0.930: "
        f"retraining; no retrain triggered: {yesterday} succeeded at "
    )
    assert "and retrained on the current data" in reason(held)
    assert "not triggered again" not in reason(held)
    assert [r.run_id for r in pipeline_runs()] == [yesterday]
    # A day with no run ended (the schedule stalled): drift triggers one.
    succeed(yesterday, ended=timezone.utcnow() - dt.timedelta(hours=25))
    triggered = dags[retrain.DAG_ID].test()
    assert states(triggered)[retrain.TRIGGER_TASK] == TaskInstanceState.SUCCESS


def test_after_a_failed_run_drift_triggers_none_until_an_operator_acts_or_the_cooldown_passes(
    dags: dict[str, DAG], configured: type[Page]
) -> None:
    """A failed run had no cooldown: with a failure that repeats, each hour's check started
    another full run (a paid training job too), failing as the last."""
    configured.text = gauges({"distance": 0.93})
    failed = scheduled_run(dags, days_ago=1)
    end(failed, DagRunState.FAILED, ended=timezone.utcnow() - dt.timedelta(minutes=5))
    for _ in range(2):
        held = dags[retrain.DAG_ID].test()
        assert states(held)[retrain.TRIGGER_TASK] == TaskInstanceState.SKIPPED
        assert f"; no retrain triggered: {failed} failed at " in reason(held)
        assert reason(held).endswith(
            " UTC; after a failed run drift triggers none for the 24 h cooldown "
            "(flight_delay_retrain_cooldown_hours): fix the failure, then clear the run's failed "
            "task or trigger flight_delay_pipeline by hand"
        )
    assert [r.run_id for r in pipeline_runs()] == [failed]

    # An operator clears the failed task: the run is running again, then succeeds.
    start(failed, timezone.utcnow())
    pending = dags[retrain.DAG_ID].test()
    assert states(pending)[retrain.TRIGGER_TASK] == TaskInstanceState.SKIPPED
    assert f"{failed} is queued or running" in reason(pending)
    succeed(failed)
    retrained = dags[retrain.DAG_ID].test()
    assert states(retrained)[retrain.TRIGGER_TASK] == TaskInstanceState.SKIPPED
    assert f"{failed} succeeded at " in reason(retrained)

    # Nobody acts: once the failure is older than the cooldown, drift triggers a run again.
    end(failed, DagRunState.FAILED, ended=timezone.utcnow() - dt.timedelta(hours=25))
    again = dags[retrain.DAG_ID].test()
    assert states(again)[retrain.TRIGGER_TASK] == TaskInstanceState.SUCCESS
    assert len(pipeline_runs()) == 2


def test_a_cooldown_reaching_before_any_date_holds_back_every_ended_run(
    dags: dict[str, DAG], configured: type[Page], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cooldown the check accepts but no date can be that many hours ago (10 ** 9, an
    operator's "never again") failed every check with a bare OverflowError, naming nothing."""
    configured.text = gauges({"distance": 0.93})
    monkeypatch.setenv(settings.environment_variable(settings.RETRAIN_COOLDOWN_VARIABLE), "1e9")
    first = dags[retrain.DAG_ID].test()
    assert states(first)[retrain.TRIGGER_TASK] == TaskInstanceState.SUCCESS
    (retrained,) = (r for r in pipeline_runs() if r.state == DagRunState.QUEUED)
    succeed(retrained.run_id, ended=timezone.utcnow() - dt.timedelta(days=3650))
    held = dags[retrain.DAG_ID].test()
    assert states(held)[retrain.CHECK_TASK] == TaskInstanceState.SUCCESS
    assert states(held)[retrain.TRIGGER_TASK] == TaskInstanceState.SKIPPED
    assert "within the 1e+09 h cooldown" in reason(held)


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


def test_drift_on_gauges_serve_left_unobserved_fails_the_check_and_triggers_nothing(
    dags: dict[str, DAG], configured: type[Page]
) -> None:
    """Before, the check read the drifted gauges of a server whose batches were no longer
    observed (the gauges kept their values) and retrained on them, against the runbook."""
    configured.text = gauges({"distance": 0.93}) + f"{drift.OBSERVE_FAILURES} 4.0\n"
    before = len(pipeline_runs())
    run = dags[retrain.DAG_ID].test()
    assert run.state == DagRunState.FAILED
    assert states(run)[retrain.CHECK_TASK] == TaskInstanceState.FAILED
    assert len(pipeline_runs()) == before
    with pytest.raises(
        drift.DriftCheckError, match="since the server started were not observed .*counts 4;"
    ):
        retrain.read_psi()


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


def test_an_empty_gauge_source_is_named_not_read_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cleared metrics URL read the gauges from Prometheus, another source than the one set,
    and a cleared Prometheus URL said no source was set."""
    metrics, prometheus = (
        settings.environment_variable(name)
        for name in (settings.METRICS_URL_VARIABLE, settings.PROMETHEUS_URL_VARIABLE)
    )
    monkeypatch.setenv(metrics, "")
    monkeypatch.setenv(prometheus, "http://127.0.0.1:9")
    with pytest.raises(
        settings.SettingError,
        match="^Airflow Variable flight_delay_metrics_url is set but empty: set it to the serve "
        "service's /metrics URL, or delete it to read flight_delay_prometheus_url",
    ):
        retrain.read_psi()
    monkeypatch.delenv(metrics)
    monkeypatch.setenv(prometheus, " ")
    with pytest.raises(
        settings.SettingError,
        match="^Airflow Variable flight_delay_prometheus_url is set but empty",
    ):
        retrain.read_psi()


def test_a_bad_threshold_variable_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.environment_variable(settings.PSI_THRESHOLD_VARIABLE), "lots")
    with pytest.raises(
        settings.SettingError, match="flight_delay_psi_threshold: PSI threshold 'lots'"
    ):
        retrain.threshold()
