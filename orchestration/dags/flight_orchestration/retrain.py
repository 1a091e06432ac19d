"""The retraining DAG: every hour, read the serve service's PSI gauges; if any feature's PSI is
above the threshold (params.yaml's monitor.psi_threshold, the drift alert's too), trigger the
pipeline DAG, unless a pipeline run is already queued or running (it will retrain) or the
newest run that ended, within the cooldown (settings.RETRAIN_COOLDOWN_VARIABLE), succeeded (any
run, the daily scheduled one too, retrains on the latest data: its model is the retrained one,
and the drift lasts until that model is deployed) or failed (the failure would repeat: drift
triggers no run until an operator clears the failed run's task or triggers one by hand, or the
cooldown has passed). A run still running after the run timeout fails the check, naming it, and
so does a retrain asked of a paused pipeline DAG, whose runs the scheduler does not start.

It can also be triggered from outside, e.g. by Alertmanager's webhook through Airflow's REST
API (orchestration/README.md): a run whose conf carries firing alerts (Alertmanager's payload,
{"alerts": [{"status": "firing", ...}]}) triggers the pipeline without reading the gauges, since
the alert has already compared them with the threshold.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.models import Variable
from airflow.models.dag import DAG, DagModel
from airflow.models.dagrun import DagRun
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.utils import timezone
from airflow.utils.state import DagRunState

from flight_orchestration import drift, settings
from flight_orchestration.commands import REASON_CONF_KEY
from flight_orchestration.pipeline import DAG_ID as PIPELINE_DAG_ID

DAG_ID = "flight_delay_retrain_on_drift"
CHECK_TASK = "check_drift"
TRIGGER_TASK = "trigger_pipeline"
NO_DRIFT_TASK = "no_drift"
REASON_KEY = "reason"


def threshold() -> float:
    """The Variable's threshold if set, else params.yaml's monitor.psi_threshold."""
    configured = Variable.get(settings.PSI_THRESHOLD_VARIABLE, default_var=None)
    if configured is not None:
        return settings.parse_threshold(
            configured, f"Airflow Variable {settings.PSI_THRESHOLD_VARIABLE}"
        )
    return settings.params_threshold(settings.parse_time_repo())


def _url(variable: str, expected: str, instead: str) -> str | None:
    """The URL Airflow Variable `variable` holds, None when unset (settings.set_value)."""
    configured = Variable.get(variable, default_var=None)
    return settings.set_value(configured, f"Airflow Variable {variable}", expected, instead)


def read_psi() -> dict[str, float]:
    """The gauges, from the serve service's /metrics if configured, else from Prometheus;
    drift.DriftCheckError when serve left batches unobserved, so the gauges lag the traffic."""
    metrics_url = _url(
        settings.METRICS_URL_VARIABLE,
        "the serve service's /metrics URL",
        f"delete it to read {settings.PROMETHEUS_URL_VARIABLE}",
    )
    if metrics_url is not None:
        return drift.read_metrics_endpoint(metrics_url)
    prometheus_url = _url(
        settings.PROMETHEUS_URL_VARIABLE,
        "Prometheus' base URL",
        f"delete it and set {settings.METRICS_URL_VARIABLE}",
    )
    if prometheus_url is not None:
        return drift.read_prometheus(prometheus_url)
    raise settings.SettingError(
        f"set Airflow Variable {settings.METRICS_URL_VARIABLE} (the serve service's /metrics "
        f"URL) or {settings.PROMETHEUS_URL_VARIABLE} (Prometheus' base URL)"
    )


class AlertPayloadError(ValueError):
    """A run conf's `alerts` is not an Alertmanager webhook's list of alerts; the message says
    which part is not."""


def firing_alerts(conf: dict[str, Any] | None) -> list[str]:
    """The names of the firing alerts in an Alertmanager webhook payload passed as run conf.
    A malformed payload is an error: read as no alerts, it would let a firing alert pass."""
    alerts = (conf or {}).get("alerts")
    if alerts is None:
        return []
    if not isinstance(alerts, list):
        raise AlertPayloadError(
            f"run conf 'alerts' is a {type(alerts).__name__}, not Alertmanager's list of alerts"
        )
    firing = []
    for number, alert in enumerate(alerts):
        # Both are required: an alert without them ("Labels", say) would read as not firing.
        labels = alert.get("labels") if isinstance(alert, dict) else None
        status = alert.get("status") if isinstance(alert, dict) else None
        if not isinstance(labels, dict) or not isinstance(status, str):
            raise AlertPayloadError(
                f"run conf 'alerts'[{number}] is not an Alertmanager alert (an object with a "
                f"status and a labels object): {alert!r:.200}"
            )
        if status == "firing":
            firing.append(str(labels.get("alertname", "alert")))
    return firing


# How long past the run timeout a run still running counts as hung: the scheduler fails a
# timed-out run on a later pass, and the check must not name a run it is about to fail.
HUNG_MARGIN = dt.timedelta(hours=1)


class HungRunError(RuntimeError):
    """A pipeline run has been running for longer than the run timeout; the message names it."""


def pending_pipeline_runs() -> list[str]:
    """The run ids of the pipeline's runs that are queued or running. A run running for longer
    than the run timeout (settings.RUN_TIMEOUT_VARIABLE) is hung, not pending: it is an error
    naming it. Counted as pending, it held back every drift retrain for good, saying it would
    retrain; a run triggered behind it would only queue (one run at a time)."""
    timeout = settings.run_timeout()
    started_before = timezone.utcnow() - timeout - HUNG_MARGIN
    running = DagRun.find(dag_id=PIPELINE_DAG_ID, state=DagRunState.RUNNING)
    hung = [run for run in running if run.start_date and run.start_date < started_before]
    if hung:
        runs = ", ".join(
            f"{run.run_id} (started {run.start_date:%Y-%m-%d %H:%M} UTC)" for run in hung
        )
        raise HungRunError(
            f"pipeline run {runs} has been running for longer than the "
            f"{timeout.total_seconds() / 3600:g} h run timeout "
            f"({settings.RUN_TIMEOUT_VARIABLE}) and an hour, which should have failed it: "
            "no retrain can start behind it. Is the scheduler running? Find the stage it is "
            f"stuck in, then mark the run failed (or clear the stage) in {PIPELINE_DAG_ID}"
        )
    queued = DagRun.find(dag_id=PIPELINE_DAG_ID, state=DagRunState.QUEUED)
    return [run.run_id for run in (*queued, *running)]


class PipelineNotScheduledError(RuntimeError):
    """Drift asks for a retrain, but the scheduler starts no run of the pipeline DAG (paused, or
    its DAG file gone); the message names the DAG, the runs left pending and what to do."""


def check_pipeline_scheduled(reason: str) -> None:
    """An error, when drift asks for a retrain (`reason`), if the scheduler would run neither the
    pipeline's queued or running runs nor one triggered now: it starts and advances no run of a
    paused or inactive DAG (on MWAA, as in Airflow's default configuration, a DAG is paused when
    first deployed). Counted as pending, such a run held back every later retrain, for good,
    and told nobody."""
    dag = DagModel.get_dagmodel(PIPELINE_DAG_ID)
    if dag is None:
        # Not in the metadata database: the trigger fails, naming it.
        return
    if dag.is_paused:
        condition = "is paused"
        remedy = (
            f"unpause it (the toggle in the UI, or `airflow dags unpause {PIPELINE_DAG_ID}`); "
            f"paused on purpose, pause {DAG_ID} too"
        )
    elif not dag.is_active:
        condition = "is not active (the scheduler no longer finds its DAG file)"
        remedy = "restore its DAG file (on MWAA, the DAG bundle) in the DAG folder"
    else:
        return
    pending = [
        f"{run.run_id} ({run.state})"
        for state in (DagRunState.QUEUED, DagRunState.RUNNING)
        for run in DagRun.find(dag_id=PIPELINE_DAG_ID, state=state)
    ]
    if pending:
        stuck = f"{', '.join(pending)} will not retrain, and no retrain can start behind it"
    else:
        stuck = "a run triggered now would stay queued"
    raise PipelineNotScheduledError(
        f"{reason}; but {PIPELINE_DAG_ID} {condition}: the scheduler starts and advances none of "
        f"its runs, so {stuck}. To retrain, {remedy}"
    )


def cooldown_hours() -> float:
    """The Variable's cooldown if set, else settings.RETRAIN_COOLDOWN_HOURS."""
    configured = Variable.get(settings.RETRAIN_COOLDOWN_VARIABLE, default_var=None)
    if configured is None:
        return settings.RETRAIN_COOLDOWN_HOURS
    return settings.parse_hours(
        configured, f"Airflow Variable {settings.RETRAIN_COOLDOWN_VARIABLE}"
    )


def last_ended_pipeline_run(hours: float) -> DagRun | None:
    """The pipeline's newest run that ended, succeeded or failed, less than `hours` ago, if any:
    scheduled or triggered, by hand or by drift."""
    cutoff = settings.hours_before(timezone.utcnow(), hours)
    ended = [
        run
        for state in (DagRunState.SUCCESS, DagRunState.FAILED)
        for run in DagRun.find(dag_id=PIPELINE_DAG_ID, state=state)
        if run.end_date is not None and (cutoff is None or run.end_date > cutoff)
    ]
    return max(ended, key=lambda run: run.end_date, default=None)


def held_back(run: DagRun, hours: float) -> str:
    """Why the run that ended within the cooldown stands for the retrain drift asks for."""
    ended = f"{run.end_date:%Y-%m-%d %H:%M} UTC"
    cooldown = f"the {hours:g} h cooldown ({settings.RETRAIN_COOLDOWN_VARIABLE})"
    if run.state == DagRunState.SUCCESS:
        # Every run, the daily scheduled one too, lands the latest day and trains on it.
        return (
            f"no retrain triggered: {run.run_id} succeeded at {ended}, within {cooldown}, and "
            "retrained on the current data; the drift lasts until its model, if the promotion "
            "gate took it, is deployed"
        )
    # A failure that is not fixed repeats: an hourly retrain would redo the run (a SageMaker
    # job too) every hour.
    return (
        f"no retrain triggered: {run.run_id} failed at {ended}; after a failed run drift "
        f"triggers none for {cooldown}: fix the failure, then clear the run's failed task or "
        f"trigger {PIPELINE_DAG_ID} by hand"
    )


def choose_branch(**context: Any) -> str:
    dag_run = context["dag_run"]
    alerts = firing_alerts(dag_run.conf if dag_run is not None else None)
    if alerts:
        reason = f"Alertmanager: {', '.join(alerts)} firing: retraining"
        retrain = True
    else:
        decision = drift.decide(read_psi(), threshold())
        reason, retrain = decision.reason, decision.retrain
    if retrain:
        check_pipeline_scheduled(reason)
    pending = pending_pipeline_runs() if retrain else []
    hours = cooldown_hours() if retrain and not pending else 0.0
    recent = last_ended_pipeline_run(hours) if hours else None
    if pending:
        # Drift lasts until a retrained model serves: a run an hour would pile up behind it.
        reason = (
            f"{reason}; no retrain triggered: {', '.join(pending)} is queued or running, and "
            "retrains on the current data"
        )
        retrain = False
    elif recent is not None:
        reason = f"{reason}; {held_back(recent, hours)}"
        retrain = False
    print(reason)
    context["ti"].xcom_push(key=REASON_KEY, value=reason)
    return TRIGGER_TASK if retrain else NO_DRIFT_TASK


def build_retrain_dag(schedule: str | None = "@hourly") -> DAG:
    dag = DAG(
        dag_id=DAG_ID,
        description="Trigger the pipeline when a served feature's PSI crosses the threshold",
        schedule=schedule,
        start_date=dt.datetime(2013, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,
        default_args={"retries": 0},
        tags=["flight-delay", "drift"],
        doc_md=__doc__,
    )
    with dag:
        check = BranchPythonOperator(task_id=CHECK_TASK, python_callable=choose_branch)
        trigger = TriggerDagRunOperator(
            task_id=TRIGGER_TASK,
            trigger_dag_id=PIPELINE_DAG_ID,
            conf={
                REASON_CONF_KEY: "{{ ti.xcom_pull(task_ids='"
                + CHECK_TASK
                + "', key='"
                + REASON_KEY
                + "') }}"
            },
            wait_for_completion=False,
        )
        check >> [trigger, EmptyOperator(task_id=NO_DRIFT_TASK)]
    return dag
