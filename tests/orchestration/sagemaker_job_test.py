"""The train stage's SageMaker training job, created through the DAG's operator against moto's
SageMaker on loopback: botocore checks the request against SageMaker's API model before sending
it, and the job the emulator records is the one the settings and the run's conf describe."""

from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.utils.xcom import XCOM_RETURN_KEY
from botocore.stub import Stubber  # pants: no-infer-dep (the Amazon provider's)

from flight_orchestration.commands import run_params
from flight_orchestration.run_parameters import TRAINING_IMAGE_KEY, RunParamsError
from flight_orchestration.runners import (
    EcsSettings,
    SageMakerTrainingStageOperator,
    training_job_name,
)
from flight_orchestration.stages import artifact_groups, read_params, read_stage_graph
from tests.orchestration.conftest import SANDBOX_ROOT
from tests.orchestration.ecs_settings import ECS_SETTINGS, RUN_ID, SAGEMAKER


def recorded(actual: Any, expected: Any) -> bool:
    """Whether `actual` holds `expected` (moto adds defaults, e.g. metric definitions)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and recorded(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(recorded(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def train_operator(wait_for_completion: bool = False) -> SageMakerTrainingStageOperator:
    graph = read_stage_graph(SANDBOX_ROOT)
    (train,) = (stage for stage in graph if stage.name == "train")
    ecs = EcsSettings.from_json(json.dumps(ECS_SETTINGS | {"sagemaker": SAGEMAKER}), "settings")
    return SageMakerTrainingStageOperator(
        task_id="train",
        command=train.command,
        groups=artifact_groups(graph, train.command.artifact),
        ecs=ecs,
        wait_for_completion=wait_for_completion,
        print_log=False,
        check_interval=0,
    )


def fixed_params_context(
    params: dict[str, Any], try_number: int = 1, image: object = SAGEMAKER["image"]
) -> dict[str, Any]:
    """A task's context, at its `try_number`, in a run whose first task fixed `params` and the
    training `image` (None: fixed none)."""
    fixed = {XCOM_RETURN_KEY: params, TRAINING_IMAGE_KEY: image}

    def xcom_pull(task_ids: str, key: str = XCOM_RETURN_KEY) -> Any:
        return fixed[key]

    ti = SimpleNamespace(xcom_pull=xcom_pull, try_number=try_number)
    return {"ti": ti, "run_id": RUN_ID}


def default_params_context(try_number: int = 1) -> dict[str, Any]:
    params = run_params(read_params(SANDBOX_ROOT), {}, dt.datetime(2013, 12, 3, tzinfo=dt.UTC))
    return fixed_params_context(params, try_number)


def jobs() -> list[str]:
    """The training jobs the emulator holds."""
    summaries = SageMakerHook().list_training_jobs()  # type: ignore[no-untyped-call]
    return sorted(job["TrainingJobName"] for job in summaries)


class ReportedStatus:
    """Makes `operator`'s DescribeTrainingJob answers for `name` report each status of
    `statuses` in turn, then the emulator's own. moto completes a job as it creates it; this is
    a job that still runs (a lost worker's), or is being stopped, when a retry looks for it."""

    def __init__(
        self, operator: SageMakerTrainingStageOperator, name: str, statuses: list[str]
    ) -> None:
        self.name, self.statuses, self.reported = name, list(statuses), 0
        operator.hook.conn.meta.events.register(
            "after-call.sagemaker.DescribeTrainingJob", self.rewrite
        )

    def rewrite(self, parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("TrainingJobName") == self.name and self.statuses:
            parsed["TrainingJobStatus"] = self.statuses.pop(0)
            self.reported += 1


def test_the_training_job_is_created_as_configured(emulator: str) -> None:
    conf = {"params": {"train.torch.epochs": 1}}
    params = run_params(read_params(SANDBOX_ROOT), conf, dt.datetime(2013, 12, 3, tzinfo=dt.UTC))
    context = fixed_params_context(params)
    operator = train_operator()
    first = operator.execute(context)["Training"]
    # A retry of the task, once the first job ended: a job of the retry's own.
    second = train_operator().execute(fixed_params_context(params, 2))["Training"]
    # The same try run again (it cannot be, but if it were): the name exists, so the operator
    # adds a timestamp.
    third = train_operator().execute(context)["Training"]

    name = training_job_name(RUN_ID)
    assert first["TrainingJobName"] == name
    assert second["TrainingJobName"] == training_job_name(RUN_ID, 2) == f"{name}-2"
    assert re.fullmatch(rf"{name}-\d{{13}}", third["TrainingJobName"])

    # The job as the emulator records it.
    job = SageMakerHook().describe_training_job(name)  # type: ignore[no-untyped-call]
    expected = operator.training_config(params, RUN_ID, str(SAGEMAKER["image"]))
    for key in (
        "HyperParameters",
        "AlgorithmSpecification",
        "RoleArn",
        "InputDataConfig",
        "OutputDataConfig",
        "ResourceConfig",
        "VpcConfig",
        "StoppingCondition",
    ):
        assert recorded(job[key], expected[key]), key
    assert yaml.safe_load(job["HyperParameters"]["train"])["torch"]["epochs"] == 1
    # The settings themselves, as the job recorded them (not only as training_config put them).
    assert job["RoleArn"] == SAGEMAKER["role_arn"]
    assert job["AlgorithmSpecification"]["TrainingImage"] == SAGEMAKER["image"]
    resources = job["ResourceConfig"]
    assert (resources["InstanceType"], resources["InstanceCount"]) == (
        SAGEMAKER["instance_type"],
        SAGEMAKER["instance_count"],
    )
    vpc = job["VpcConfig"]
    assert (vpc["Subnets"], vpc["SecurityGroupIds"]) == (
        ECS_SETTINGS["subnets"],
        ECS_SETTINGS["security_groups"],
    )
    assert job["OutputDataConfig"]["S3OutputPath"] == SAGEMAKER["output_path"]


def test_the_job_runs_the_image_its_run_s_first_task_fixed(emulator: str) -> None:
    """Before, the job ran the settings' image as parsed for the train task: changed while the
    run was in flight (an MWAA update), or before a task cleared days later, it trained the
    run's model with another release's code than its other stages ran."""
    params = run_params(read_params(SANDBOX_ROOT), {}, dt.datetime(2013, 12, 3, tzinfo=dt.UTC))
    fixed = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-platform-prod/train:the-run-s"
    assert fixed != SAGEMAKER["image"]
    train_operator().execute(fixed_params_context(params, image=fixed))
    job = SageMakerHook().describe_training_job(training_job_name(RUN_ID))  # type: ignore[no-untyped-call]
    assert job["AlgorithmSpecification"]["TrainingImage"] == fixed
    # A run whose first task fixed none (it ran before this code) starts no job.
    with pytest.raises(RunParamsError, match="no training image from its run_params task"):
        train_operator().execute(fixed_params_context(params, 2, image=None))
    assert jobs() == [training_job_name(RUN_ID)]


def test_a_killed_task_stops_the_job_it_started(emulator: str) -> None:
    """A task marked failed or cleared left its job running beside the retry's. moto has no
    StopTrainingJob: botocore's stubber checks the request against SageMaker's API model."""
    context = default_params_context()
    operator = train_operator()
    started = operator.execute(context)["Training"]["TrainingJobName"]
    with Stubber(operator.hook.conn) as sagemaker:
        sagemaker.add_response("stop_training_job", {}, {"TrainingJobName": started})
        operator.on_kill()
        sagemaker.assert_no_pending_responses()
    # Killed before it started a job: nothing to stop, no call (the emulator would refuse one).
    train_operator().on_kill()


def test_a_retry_waits_for_the_job_an_earlier_try_left_running(emulator: str) -> None:
    """A worker lost mid-job fails the task without stopping its job (on_kill never runs).
    The cleared task's retry started a second job beside the first, both writing the working
    directory's data/models: it now waits for the first and takes its result."""
    first = train_operator().execute(default_params_context())["Training"]["TrainingJobName"]
    retry = train_operator(wait_for_completion=True)
    # The first try's job still runs for the retry's first looks, then completes.
    running = ReportedStatus(retry, first, ["InProgress"] * 3)
    result = retry.execute(default_params_context(try_number=2))["Training"]
    assert result["TrainingJobName"] == first
    assert result["TrainingJobStatus"] == "Completed"
    assert running.statuses == []
    assert jobs() == [first]
    # Killed while it waits, the retry stops the job it waits for.
    with Stubber(retry.hook.conn) as sagemaker:
        sagemaker.add_response("stop_training_job", {}, {"TrainingJobName": first})
        retry.on_kill()
        sagemaker.assert_no_pending_responses()


def test_a_reattached_job_that_fails_fails_the_task(emulator: str) -> None:
    first = train_operator().execute(default_params_context())["Training"]["TrainingJobName"]
    retry = train_operator(wait_for_completion=True)
    ReportedStatus(retry, first, ["InProgress", "InProgress", "Failed", "Failed"])
    with pytest.raises(AirflowException, match=rf"^SageMaker training job {first} ended Failed"):
        retry.execute(default_params_context(try_number=2))
    assert jobs() == [first]


def test_a_retry_starts_its_job_once_a_stopping_one_has_stopped(emulator: str) -> None:
    """A job being stopped (its task was killed) still writes the working directory."""
    first = train_operator().execute(default_params_context())["Training"]["TrainingJobName"]
    retry = train_operator()
    stopping = ReportedStatus(retry, first, ["Stopping", "Stopping", "Stopped"])
    second = retry.execute(default_params_context(try_number=2))["Training"]["TrainingJobName"]
    assert stopping.statuses == []
    assert second == training_job_name(RUN_ID, 2)
    assert jobs() == sorted([first, second])
