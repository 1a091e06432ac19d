"""An ECS stage task through the DAG's operator against moto's ECS on loopback: it runs the task
definition revision its run's first task fixed, a retry of a killed task starts its container
only once the killed one has stopped, and a retry after a lost worker reattaches to the task
still running.

moto stops a task at once. ECS does not: StopTask sends the containers SIGTERM and, after the
task definition's stopTimeout (30 s by default on Fargate, at most 120 s), SIGKILL, and the task
goes through DEACTIVATING, STOPPING and DEPROVISIONING before STOPPED; a PEX running as the
container's PID 1, without an init process, ignores SIGTERM and runs on for the whole timeout.
A task still stopping is the emulator's task with the status ECS would report rewritten in its
DescribeTasks answers, as sagemaker_job_test.py does for a training job."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.models.taskinstancekey import TaskInstanceKey
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.ecs import EcsHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.utils.identifiers import generate_uuid

from flight_orchestration.commands import run_params
from flight_orchestration.run_parameters import (
    TASK_DEFINITIONS_KEY,
    RunParamsError,
    task_definition_revisions,
)
from flight_orchestration.runners import EcsSettings, EcsStageOperator
from flight_orchestration.settings import SettingError
from flight_orchestration.stages import read_params, read_stage_graph
from tests.orchestration.conftest import SANDBOX_ROOT
from tests.orchestration.ecs_settings import ECS_SETTINGS, RUN_ID

STAGE = "land"
CLUSTER = str(ECS_SETTINGS["cluster"])


@dataclass(frozen=True)
class Ecs:
    client: Any
    # The ecs runner's settings, in the emulator's subnet and security group.
    settings: EcsSettings
    # The task definition revisions the run's first task fixed.
    revisions: dict[str, str]


@pytest.fixture
def ecs(emulator: str) -> Ecs:
    """The emulator's ECS: the settings' cluster and task definitions in a VPC of its own, and
    the bucket the run's params file goes to."""
    ec2 = AwsBaseHook(client_type="ec2").conn
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # As the pipeline's VPC has them (EFS by name); moto's task network interface needs them.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName="pipeline", Description="pipeline")
    client = EcsHook().conn
    client.create_cluster(clusterName=CLUSTER)
    definitions: dict[str, str] = ECS_SETTINGS["task_definitions"]  # type: ignore[assignment]
    for service, family in definitions.items():
        register(client, service, family, "test")
    S3Hook().create_bucket("prod-artifacts")
    network = {"subnets": [subnet], "security_groups": [group["GroupId"]]}
    settings = EcsSettings.from_json(json.dumps(ECS_SETTINGS | network), "settings")
    return Ecs(client, settings, task_definition_revisions(settings.task_definitions))


def register(client: Any, service: str, family: str, tag: str) -> str:
    """A new revision of `family`, running the service's image tagged `tag`; its ARN."""
    registered = client.register_task_definition(
        family=family,
        # The container is named after the service (EcsStageOperator's overrides).
        containerDefinitions=[{"name": service, "image": f"{service}:{tag}", "memory": 512}],
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
    )
    arn: str = registered["taskDefinition"]["taskDefinitionArn"]
    return arn


def stage_operator(ecs: Ecs) -> EcsStageOperator:
    """The land stage's task as the DAG builds it, returning once its ECS task started."""
    (stage,) = (s for s in read_stage_graph(SANDBOX_ROOT) if s.name == STAGE)
    return EcsStageOperator(
        task_id=STAGE,
        command=stage.command,
        ecs=ecs.settings,
        wait_for_completion=False,
        waiter_delay=0,
        do_xcom_push=False,
    )


def task_key(try_number: int) -> TaskInstanceKey:
    return TaskInstanceKey("flight_delay_pipeline", STAGE, RUN_ID, try_number)


def context(try_number: int, revisions: dict[str, str] | None) -> dict[str, Any]:
    """The task's context at `try_number`, in a run whose first task fixed its parameters and
    these task definition revisions (None: a run whose first task fixed none)."""
    params = run_params(read_params(SANDBOX_ROOT), {}, dt.datetime(2013, 12, 3, tzinfo=dt.UTC))
    fixed = {None: params, TASK_DEFINITIONS_KEY: revisions}

    def xcom_pull(task_ids: str, key: str | None = None) -> Any:
        return fixed[key]

    ti = SimpleNamespace(key=task_key(try_number), try_number=try_number, xcom_pull=xcom_pull)
    return {"ti": ti, "run_id": RUN_ID}


def started_by(try_number: int = 1) -> str:
    """The startedBy the operator gives its ECS task: one per task instance, whatever the try."""
    return generate_uuid(*map(str, task_key(try_number).primary))


class ReportedTaskStatus:
    """Makes `operator`'s DescribeTasks answers report `arn` in each status of `statuses` in
    turn, then the emulator's own."""

    def __init__(self, operator: EcsStageOperator, arn: str, statuses: list[str]) -> None:
        self.arn, self.statuses = arn, list(statuses)
        operator.client.meta.events.register("after-call.ecs.DescribeTasks", self.rewrite)

    def rewrite(self, parsed: dict[str, Any], **_: Any) -> None:
        for task in parsed.get("tasks", []):
            if task["taskArn"] == self.arn and self.statuses:
                task["lastStatus"] = self.statuses.pop(0)


def running(ecs: Ecs) -> list[str]:
    arns: list[str] = ecs.client.list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"]
    return arns


def test_a_retry_starts_its_task_once_the_killed_one_has_stopped(ecs: Ecs) -> None:
    """on_kill (a task marked failed, cleared, or past its timeout) asks ECS to stop the task and
    returns: the retry, which reattaches only to a task ECS is to keep running, started a second
    container on the working directory while the first still ran."""
    first = stage_operator(ecs)
    first.execute(context(1, ecs.revisions))
    killed = first.arn
    assert killed is not None
    # The provider's startedBy, which its reattach looks for and the wait below too.
    assert ecs.client.list_tasks(cluster=CLUSTER, startedBy=started_by())["taskArns"] == [killed]
    first.on_kill()
    assert running(ecs) == []

    retry = stage_operator(ecs)
    stopping = ReportedTaskStatus(retry, killed, ["DEACTIVATING", "STOPPING", "DEPROVISIONING"])
    # What ECS still reported of the killed task when the retry started its own.
    when_started: list[list[str]] = []
    retry.client.meta.events.register(
        "before-call.ecs.RunTask", lambda **_: when_started.append(list(stopping.statuses))
    )
    retry.execute(context(2, ecs.revisions))
    assert when_started == [[]]
    assert retry.arn not in (None, killed)
    assert running(ecs) == [retry.arn]


def test_a_retry_after_a_lost_worker_reattaches_to_the_running_task(ecs: Ecs) -> None:
    """A worker lost mid-task fails it without on_kill: its ECS task runs on, and the retry waits
    for it (the provider's reattach) instead of starting another."""
    first = stage_operator(ecs)
    first.execute(context(1, ecs.revisions))
    retry = stage_operator(ecs)
    started: list[object] = []
    retry.client.meta.events.register("before-call.ecs.RunTask", lambda **_: started.append(1))
    retry.execute(context(2, ecs.revisions))
    assert (retry.arn, started) == (first.arn, [])
    assert running(ecs) == [first.arn]


def test_a_run_s_stages_run_the_task_definition_revisions_its_first_task_fixed(ecs: Ecs) -> None:
    """Before, a stage ran its family's newest revision when it started: a release registered
    while a run was in flight ran the run's later stages on other code than its earlier ones."""
    family = ecs.settings.task_definitions["ingest"]
    assert ecs.revisions["ingest"].endswith(f"task-definition/{family}:1")
    released = register(ecs.client, "ingest", family, "next-release")
    assert task_definition_revisions({"ingest": family}) == {"ingest": released}
    stage = stage_operator(ecs)
    stage.execute(context(1, ecs.revisions))
    (task,) = ecs.client.describe_tasks(cluster=CLUSTER, tasks=[stage.arn])["tasks"]
    assert task["taskDefinitionArn"] == ecs.revisions["ingest"]


def test_a_stage_of_a_run_whose_first_task_fixed_no_revision_starts_nothing(ecs: Ecs) -> None:
    started: list[object] = []
    stage = stage_operator(ecs)
    stage.client.meta.events.register("before-call.ecs.RunTask", lambda **_: started.append(1))
    with pytest.raises(RunParamsError, match="no task definition for the ingest service from"):
        stage.execute(context(1, None))
    assert started == [] and running(ecs) == []


def test_a_task_definition_ecs_does_not_have_fails_the_run_s_first_task_by_name(ecs: Ecs) -> None:
    with pytest.raises(SettingError, match="the train service's task definition 'no-such-family'"):
        task_definition_revisions({"ingest": "ml-platform-prod-ingest", "train": "no-such-family"})
