"""Where a pipeline task runs its stage: the service's PEX on the Airflow worker (`local`, the
default), or the service's image as an ECS task (`ecs`, for MWAA). Airflow Variable
flight_delay_runner chooses; the ECS settings are the JSON Variable flight_delay_ecs:

    {"cluster": "ml-platform-prod",
     "task_definitions": {"ingest": "...", "feature": "...", "train": "..."},
     "subnets": ["subnet-..."], "security_groups": ["sg-..."],
     "params_prefix": "s3://<artifacts bucket>/runs",
     "logs": {"group": "/ml-platform/ml-platform-prod-pipeline", "stream_prefix": "pipeline"},
     "sagemaker": {...}}

A service's image runs its PEX as the entry point and works in the pipeline's working directory
(a volume its task definition mounts), so an ECS task's command is the stage's arguments, the
same ones the PEX gets locally. The one difference: the run's params file, which the worker
cannot write into the task's volume, goes to `params_prefix/<run id>/params.yaml` in S3 and the
service reads it from there.

With the optional `logs` block (the CloudWatch log group and `awslogs-stream-prefix` of the task
definitions' awslogs driver), a task follows its container's output in the Airflow task log,
and a failed stage's last lines, the artifact's error among them, are in the task's error.

With the optional `sagemaker` block (SageMakerSettings), the train stage (`train fit`) is a
SageMaker training job of the train image instead: the run's train, evaluate and promote
parameters are its hyperparameters, and the working directory's file system (EFS) is mounted as
two channels, `features` (read-only, the stage's --features) and `workdir` (read-write), where
the job writes the fitted models at the stage's --output for the evaluate stage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml
from airflow.exceptions import AirflowException
from airflow.models.baseoperator import BaseOperator
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator
from airflow.providers.amazon.aws.utils.identifiers import generate_uuid
from botocore.exceptions import ClientError  # pants: no-infer-dep (the Amazon provider's)

from flight_orchestration.commands import (
    PARAMS_FILE_ARGUMENT,
    CommandError,
    StageCommand,
)
from flight_orchestration.run_ids import run_directory_name
from flight_orchestration.run_parameters import (
    the_runs_params,
    the_runs_task_definition,
    the_runs_training_image,
)
from flight_orchestration.settings import SettingError
from flight_orchestration.stages import Stage, artifact_groups

# SageMaker's longest training job (StoppingCondition.MaxRuntimeInSeconds).
MAX_RUNTIME_SECONDS = 28 * 24 * 3600
# SageMaker mounts the training container's input channel <name> at /opt/ml/input/data/<name>.
CHANNELS_MOUNT = PurePosixPath("/opt/ml/input/data")


def json_object(text: str | None, source: str, what: str) -> dict[str, Any]:
    if not text:
        raise SettingError(f"{source} is not set: {what}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingError(f"{source} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise SettingError(f"{source} must be a JSON object")
    return data


def is_s3_prefix(text: str) -> bool:
    """Whether `text` is an s3:// URL naming its bucket (`s3://` alone would be a local path)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme == "s3" and bool(parts.netloc)


def check_keys(
    data: Mapping[str, Any], source: str, required: set[str], optional: frozenset[str] = frozenset()
) -> None:
    """Every required key present and no other than the optional ones, else both lists named."""
    missing, unknown = sorted(required - set(data)), sorted(set(data) - required - optional)
    if missing or unknown:
        raise SettingError(
            f"{source}: missing {missing or 'nothing'}, unknown {unknown or 'nothing'}"
        )


def strings(data: Mapping[str, Any], source: str, *keys: str) -> None:
    for key in keys:
        if not isinstance(data[key], str) or not data[key]:
            raise SettingError(f"{source}: {key} must be a non-empty string")


def positive_integers(data: Mapping[str, Any], source: str, *keys: str) -> None:
    for key in keys:
        value = data.get(key)
        if key in data and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SettingError(f"{source}: {key} must be a whole number above 0, not {value!r}")


@dataclass(frozen=True)
class SageMakerSettings:
    """The `sagemaker` block of flight_delay_ecs: where and as whom the training job runs.

    The job runs in the ECS settings' subnets and security groups (VpcConfig), which reach the
    working directory's EFS mount targets."""

    # The train image in ECR, by tag or digest.
    image: str
    # The role the job runs as (infra/envs/aws output sagemaker_training_role_arn).
    role_arn: str
    instance_type: str
    instance_count: int
    # Where SageMaker uploads model.tar.gz (the job's own store) and output.tar.gz.
    output_path: str
    # The EFS file system of the pipeline's working directory, and the directory in it that the
    # ECS task definitions mount as their working directory.
    file_system_id: str
    directory_path: str
    volume_size_gb: int = 30
    max_runtime_seconds: int = 24 * 3600

    @classmethod
    def from_data(cls, data: object, source: str) -> SageMakerSettings:
        if not isinstance(data, dict):
            raise SettingError(f"{source} must be a JSON object")
        required = {"image", "role_arn", "instance_type", "instance_count", "output_path"}
        required |= {"file_system_id", "directory_path"}
        check_keys(data, source, required, frozenset({"volume_size_gb", "max_runtime_seconds"}))
        strings(data, source, *sorted(required - {"instance_count"}))
        positive_integers(data, source, "instance_count", "volume_size_gb", "max_runtime_seconds")
        runtime = data.get("max_runtime_seconds", 0)
        if runtime > MAX_RUNTIME_SECONDS:
            # Not in botocore's model: SageMaker itself refused the job, after land to features.
            raise SettingError(
                f"{source}: max_runtime_seconds {runtime} is more than {MAX_RUNTIME_SECONDS} "
                "(28 days, SageMaker's longest training job)"
            )
        expected = {
            "role_arn": (re.compile(r"arn:[^:]+:iam::\d{12}:role/.+"), "an IAM role ARN"),
            "instance_type": (re.compile(r"ml\.\S+"), "a SageMaker instance type (ml.*)"),
            "output_path": (re.compile(r"s3://[^/]+/\S*"), "an s3:// URL"),
            "file_system_id": (re.compile(r"fs-[0-9a-f]+"), "an EFS file system ID (fs-...)"),
            "directory_path": (re.compile(r"/\S*"), "an absolute path in the file system"),
        }
        for key, (pattern, what) in expected.items():
            if not pattern.fullmatch(data[key]):
                raise SettingError(f"{source}: {key} must be {what}, not {data[key]!r}")
        return cls(**data)


@dataclass(frozen=True)
class LogSettings:
    """The `logs` block of flight_delay_ecs: where the stage tasks' awslogs driver writes."""

    group: str
    # The task definitions' awslogs-stream-prefix: a container's stream is
    # <stream_prefix>/<container name>/<task ID>.
    stream_prefix: str

    @classmethod
    def from_data(cls, data: object, source: str) -> LogSettings:
        if not isinstance(data, dict):
            raise SettingError(f"{source} must be a JSON object")
        check_keys(data, source, {"group", "stream_prefix"})
        strings(data, source, "group", "stream_prefix")
        return cls(**data)


@dataclass(frozen=True)
class EcsSettings:
    cluster: str
    # Service name (`train`, the artifact's directory services.train) -> task definition.
    task_definitions: Mapping[str, str]
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    params_prefix: str

    # Set: each task follows its container's CloudWatch log.
    logs: LogSettings | None = None
    # Set: the train stage runs as a SageMaker training job.
    sagemaker: SageMakerSettings | None = None

    @classmethod
    def from_json(cls, text: str | None, source: str) -> EcsSettings:
        data = json_object(text, source, "the ecs runner needs its ECS settings")
        expected = {"cluster", "task_definitions", "subnets", "security_groups", "params_prefix"}
        check_keys(data, source, expected, frozenset({"logs", "sagemaker"}))
        definitions = data["task_definitions"]
        if not isinstance(definitions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in definitions.items()
        ):
            raise SettingError(
                f"{source}: task_definitions must map service names to task definitions"
            )
        for key in ("subnets", "security_groups"):
            if (
                not isinstance(data[key], list)
                or not data[key]
                or not all(isinstance(v, str) for v in data[key])
            ):
                raise SettingError(f"{source}: {key} must be a non-empty list of IDs")
        strings(data, source, "cluster", "params_prefix")
        if not is_s3_prefix(data["params_prefix"]):
            raise SettingError(
                f"{source}: params_prefix must be an s3:// URL with its bucket, "
                f"not {data['params_prefix']!r}"
            )
        logs, sagemaker = data.get("logs"), data.get("sagemaker")
        return cls(
            cluster=data["cluster"],
            task_definitions=dict(definitions),
            subnets=tuple(data["subnets"]),
            security_groups=tuple(data["security_groups"]),
            params_prefix=data["params_prefix"].rstrip("/"),
            logs=None if logs is None else LogSettings.from_data(logs, f"{source}.logs"),
            sagemaker=(
                None
                if sagemaker is None
                else SageMakerSettings.from_data(sagemaker, f"{source}.sagemaker")
            ),
        )

    def params_uri(self, run_id: str) -> str:
        return f"{self.params_prefix}/{run_directory_name(run_id)}/params.yaml"


def wait_attempts(timeout: dt.timedelta, delay: float) -> int:
    """How many polls `delay` seconds apart last `timeout`, at least one."""
    return max(1, math.ceil(timeout.total_seconds() / delay))


def service_of(command: StageCommand) -> str:
    """The service whose artifact the command runs (services.train/train.pex: train)."""
    return command.artifact.parts[0].removeprefix("services.")


class EcsStageOperator(EcsRunTaskOperator):
    """Runs a stage's command in its service's image as a Fargate task, with the run's
    parameters. The overrides are built when the task runs, from the parameters the run's
    first task fixed (run_parameters)."""

    def __init__(self, *, command: StageCommand, ecs: EcsSettings, **kwargs: Any):
        service = service_of(command)
        if service not in ecs.task_definitions:
            raise SettingError(f"ECS settings: no task definition for the {service} service")
        super().__init__(
            cluster=ecs.cluster,
            task_definition=ecs.task_definitions[service],
            launch_type="FARGATE",
            overrides={},
            network_configuration={
                "awsvpcConfiguration": {
                    "subnets": list(ecs.subnets),
                    "securityGroups": list(ecs.security_groups),
                    "assignPublicIp": "DISABLED",
                }
            },
            # A retry finds the task its earlier try started, if it still runs (a worker lost
            # mid-task), and waits for it rather than starting a second one on the same data.
            reattach=True,
            # The service's container is named after it (container_overrides).
            awslogs_group=ecs.logs.group if ecs.logs else None,
            awslogs_stream_prefix=f"{ecs.logs.stream_prefix}/{service}" if ecs.logs else None,
            **kwargs,
        )
        self.command = command
        self.ecs = ecs
        self.service = service
        # The operator's waiter polls for ~69 days: bounded by the task's execution_timeout (the
        # run timeout, from the DAG's default_args), which kills the task first and stops the
        # ECS task, whereas a waiter that gives up leaves it running.
        if self.execution_timeout is not None:
            self.waiter_max_attempts = wait_attempts(self.execution_timeout, self.waiter_delay)

    def container_overrides(self, params: dict[str, Any], run_id: str) -> dict[str, Any]:
        """The run's command for the service's container: the stage's arguments."""
        args = self.command.args_for(params, self.ecs.params_uri(run_id))
        return {"containerOverrides": [{"name": self.service, "command": args}]}

    def stopping_tasks(self, started_by: str) -> list[str]:
        """The ECS tasks started as `started_by` that ECS is stopping but has not stopped."""
        listed = self.client.list_tasks(
            cluster=self.cluster, startedBy=started_by, desiredStatus="STOPPED"
        )
        if not listed["taskArns"]:
            return []
        described = self.client.describe_tasks(cluster=self.cluster, tasks=listed["taskArns"])
        return [task["taskArn"] for task in described["tasks"] if task["lastStatus"] != "STOPPED"]

    def wait_for_stopping_tasks(self, context: Any) -> None:
        """Wait until the ECS tasks an earlier try of this task instance started, and on_kill
        asked to stop, have stopped. StopTask returns at once; the container runs on until it
        exits or the task definition's stopTimeout (30 s on Fargate by default, at most 120 s)
        ends it, and the provider's reattach looks only for tasks ECS is to keep running: the
        retry started a second container on the same working directory beside it."""
        # The provider's startedBy for the task instance, the same for every try (reattach).
        started_by = generate_uuid(*map(str, context["ti"].key.primary))
        stopping = self.stopping_tasks(started_by)
        if not stopping:
            return
        self.log.info(
            "ECS task(s) %s, which an earlier try of this task started, are stopping: waiting "
            "for them to stop before starting another on the same working directory.",
            ", ".join(stopping),
        )
        self.client.get_waiter("tasks_stopped").wait(
            cluster=self.cluster,
            tasks=stopping,
            WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": self.waiter_max_attempts},
        )

    def execute(self, context: Any) -> Any:
        params = the_runs_params(context)
        uri = self.ecs.params_uri(context["run_id"])
        S3Hook().load_string(yaml.safe_dump(params, sort_keys=False), key=uri, replace=True)
        self.overrides = self.container_overrides(params, context["run_id"])
        # The revision the run started with, not the family's newest (run_parameters).
        self.task_definition = the_runs_task_definition(context, self.service)
        self.wait_for_stopping_tasks(context)
        return super().execute(context)  # type: ignore[no-untyped-call]


def is_training(command: StageCommand) -> bool:
    """Whether the command fits the models (the train service's `fit`)."""
    return service_of(command) == "train" and command.args[:1] == ("fit",)


def hyperparameters(params: dict[str, Any], groups: Sequence[str]) -> dict[str, str]:
    """The run's `groups` of parameters as SageMaker hyperparameters: one per group, its value
    the group as JSON (a string SageMaker passes on, which the train service reads as that key's
    YAML value, as it reads any hyperparameter). A training job has no params file: `groups`
    are those of every stage that runs the train artifact (stages.artifact_groups)."""
    if not groups:
        raise CommandError("dvc.yaml names no params for the train stages: the job needs them")
    missing = [group for group in groups if group not in params]
    if missing:
        raise CommandError(f"params has no {', '.join(missing)}: the training job needs them")
    return {group: json.dumps(params[group]) for group in groups}


def stage_path(command: StageCommand, params: dict[str, Any], option: str) -> PurePosixPath:
    """The path the command gives `option`, relative to the working directory."""
    args = command.args_for(params, PARAMS_FILE_ARGUMENT)
    if option not in args[:-1]:
        raise CommandError(f"the train stage's command has no {option} <path>: {args}")
    path = PurePosixPath(args[args.index(option) + 1])
    if path.is_absolute() or ".." in path.parts:
        raise CommandError(f"{option} {path}: must be a path inside the working directory")
    return path


def training_job_name(run_id: str, try_number: int = 1) -> str:
    """A job name for the run's try of the task, readable and unique per run ID and try: the
    first try's is `train-<run id>-<hash>`, a later one's ends `-<try>`, so a retry can find the
    jobs its earlier tries started. Under 50 characters (a try below 1000): the operator appends
    a 14-character timestamp to a name that exists, and 63 is SageMaker's limit."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", run_id).strip("-")[:28].rstrip("-")
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    name = f"train-{slug}-{digest}"
    return name if try_number <= 1 else f"{name}-{try_number}"


class SageMakerTrainingStageOperator(SageMakerTrainingOperator):
    """Runs the train stage as a SageMaker training job of the train image, with the run's
    parameters as hyperparameters. The job's configuration is built when the task runs, from the
    parameters the run's first task fixed (run_parameters)."""

    def __init__(
        self,
        *,
        command: StageCommand,
        groups: Sequence[str],
        ecs: EcsSettings,
        **kwargs: Any,
    ):
        if ecs.sagemaker is None:
            raise SettingError("ECS settings: no sagemaker block for the training job")
        super().__init__(config={}, **kwargs)
        self.command = command
        self.groups = tuple(groups)
        self.ecs = ecs
        self.sagemaker = ecs.sagemaker
        # The wait for the job gives up at the task's execution_timeout (the run timeout), as the
        # task's timeout does (which stops the job).
        if self.max_ingestion_time is None and self.execution_timeout is not None:
            self.max_ingestion_time = math.ceil(self.execution_timeout.total_seconds())

    def channel(self, name: str, path: PurePosixPath, mode: str) -> dict[str, Any]:
        """An input channel of the working directory's `path` on its EFS file system."""
        directory = PurePosixPath(self.sagemaker.directory_path) / path
        source = {
            "FileSystemId": self.sagemaker.file_system_id,
            "FileSystemType": "EFS",
            "FileSystemAccessMode": mode,
            "DirectoryPath": str(directory),
        }
        return {
            "ChannelName": name,
            "InputMode": "File",
            "DataSource": {"FileSystemDataSource": source},
        }

    def training_config(
        self, params: dict[str, Any], run_id: str, image: str, try_number: int = 1
    ) -> dict[str, Any]:
        """CreateTrainingJob's request for the run's try of the task, of the run's `image`."""
        job = self.sagemaker
        features = stage_path(self.command, params, "--features")
        models = stage_path(self.command, params, "--output")
        return {
            "TrainingJobName": training_job_name(run_id, try_number),
            "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
            "RoleArn": job.role_arn,
            "HyperParameters": hyperparameters(params, self.groups),
            "InputDataConfig": [
                self.channel("features", features, "ro"),
                # The working directory itself: the job writes the stage's output in it (the
                # directory SageMaker requires must exist, and the output may not yet).
                self.channel("workdir", PurePosixPath("."), "rw"),
            ],
            "Environment": {"TRAIN_MODELS_DIR": str(CHANNELS_MOUNT / "workdir" / models)},
            "OutputDataConfig": {"S3OutputPath": job.output_path},
            "ResourceConfig": {
                "InstanceType": job.instance_type,
                "InstanceCount": job.instance_count,
                "VolumeSizeInGB": job.volume_size_gb,
            },
            "VpcConfig": {
                "SecurityGroupIds": list(self.ecs.security_groups),
                "Subnets": list(self.ecs.subnets),
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": job.max_runtime_seconds},
        }

    def job_status(self, name: str) -> str | None:
        """The job's status, None if there is no job of that name."""
        try:
            return str(self.hook.describe_training_job(name)["TrainingJobStatus"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ValidationException":
                return None
            raise

    def running_job(self, run_id: str, try_number: int) -> str | None:
        """The job an earlier try of the task started that is still in progress (its worker was
        lost: the task failed without stopping it), if any. A job of the run that is being
        stopped is waited for: it writes the working directory until it has stopped."""
        for earlier in range(1, try_number + 1):
            name = training_job_name(run_id, earlier)
            status = self.job_status(name)
            while status == "Stopping":
                self.log.info("Waiting for SageMaker training job %s to stop.", name)
                time.sleep(self.check_interval)
                status = self.job_status(name)
            if status == "InProgress":
                return name
        return None

    def reattach(self, name: str) -> dict[str, Any]:
        """Wait for the earlier try's job `name` as for one this try started; its result is the
        task's."""
        self.log.info(
            "SageMaker training job %s, which an earlier try of this task started, is still in "
            "progress: waiting for it rather than starting a second one on the same data.",
            name,
        )
        # on_kill stops this one now.
        self.config["TrainingJobName"] = name
        if not self.wait_for_completion:
            return self.serialize_result(name)  # type: ignore[no-any-return]
        if self.print_log:
            self.hook.check_training_status_with_log(
                name,
                self.hook.non_terminal_states,
                self.hook.training_failed_states,
                True,
                self.check_interval,
                self.max_ingestion_time,
            )
        else:
            waited = 0
            while self.job_status(name) in self.hook.non_terminal_states:
                if self.max_ingestion_time and waited > self.max_ingestion_time:
                    raise AirflowException(
                        f"SageMaker training job {name} took more than "
                        f"{self.max_ingestion_time} seconds"
                    )
                time.sleep(self.check_interval)
                waited += self.check_interval
        result: dict[str, Any] = self.serialize_result(name)
        status = result["Training"]["TrainingJobStatus"]
        if status != "Completed":
            reason = result["Training"].get("FailureReason", "no reason given")
            raise AirflowException(f"SageMaker training job {name} ended {status}: {reason}")
        return result

    def execute(self, context: Any) -> Any:
        params = the_runs_params(context)
        run_id, try_number = context["run_id"], context["ti"].try_number
        # The image the run started with, not the settings' as parsed for this task.
        image = the_runs_training_image(context)
        self.config = self.training_config(params, run_id, image, try_number)
        # A retry after a lost worker found its earlier try's job still running, and started a
        # second one beside it on the same working directory.
        running = self.running_job(run_id, try_number)
        if running is not None:
            return self.reattach(running)
        return super().execute(context)

    def on_kill(self) -> None:
        """Stop the job this task started: a task marked failed or cleared left it running, and
        the retry's job wrote the same working directory beside it."""
        name = self.config.get("TrainingJobName")
        if name:
            self.log.info("Stopping SageMaker training job %s.", name)
            self.hook.conn.stop_training_job(TrainingJobName=name)


def ecs_operator(stage: Stage, graph: list[Stage], ecs: EcsSettings) -> BaseOperator:
    """The stage's task under the ecs runner: a training job for the train stage if the settings
    have a sagemaker block, else an ECS task."""
    command = stage.command
    if ecs.sagemaker is not None and is_training(command):
        groups = artifact_groups(graph, command.artifact)
        return SageMakerTrainingStageOperator(
            task_id=stage.name, command=command, groups=groups, ecs=ecs
        )
    return EcsStageOperator(task_id=stage.name, command=command, ecs=ecs)
