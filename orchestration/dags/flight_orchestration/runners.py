"""Where a pipeline task runs its stage: the service's PEX on the Airflow worker (`local`, the
default), or the service's image as an ECS task (`ecs`, for MWAA). Airflow Variable
flight_delay_runner chooses; the ECS settings are the JSON Variable flight_delay_ecs:

    {"cluster": "ml-platform-prod",
     "task_definitions": {"ingest": "...", "feature": "...", "train": "..."},
     "subnets": ["subnet-..."], "security_groups": ["sg-..."],
     "params_prefix": "s3://<artifacts bucket>/runs"}

A service's image runs its PEX as the entry point and works in the pipeline's working directory
(a volume its task definition mounts), so an ECS task's command is the stage's arguments, the
same ones the PEX gets locally. The one difference: the run's params file, which the worker
cannot write into the task's volume, goes to `params_prefix/<run id>/params.yaml` in S3 and the
service reads it from there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator

from flight_orchestration.commands import StageCommand, run_params, safe_run_id
from flight_orchestration.settings import SettingError


@dataclass(frozen=True)
class EcsSettings:
    cluster: str
    # Service name (`train`, the artifact's directory services.train) -> task definition.
    task_definitions: Mapping[str, str]
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    params_prefix: str

    @classmethod
    def from_json(cls, text: str | None, source: str) -> EcsSettings:
        if not text:
            raise SettingError(f"{source} is not set: the ecs runner needs its ECS settings")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SettingError(f"{source} is not JSON: {error}") from None
        if not isinstance(data, dict):
            raise SettingError(f"{source} must be a JSON object")
        expected = {"cluster", "task_definitions", "subnets", "security_groups", "params_prefix"}
        missing, unknown = sorted(expected - set(data)), sorted(set(data) - expected)
        if missing or unknown:
            raise SettingError(
                f"{source}: missing {missing or 'nothing'}, unknown {unknown or 'nothing'}"
            )
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
        for key in ("cluster", "params_prefix"):
            if not isinstance(data[key], str) or not data[key]:
                raise SettingError(f"{source}: {key} must be a non-empty string")
        if not data["params_prefix"].startswith("s3://"):
            raise SettingError(f"{source}: params_prefix must be an s3:// URL")
        return cls(
            cluster=data["cluster"],
            task_definitions=dict(definitions),
            subnets=tuple(data["subnets"]),
            security_groups=tuple(data["security_groups"]),
            params_prefix=data["params_prefix"].rstrip("/"),
        )

    def params_uri(self, run_id: str) -> str:
        return f"{self.params_prefix}/{safe_run_id(run_id)}/params.yaml"


def service_of(command: StageCommand) -> str:
    """The service whose artifact the command runs (services.train/train.pex: train)."""
    return command.artifact.parts[0].removeprefix("services.")


class EcsStageOperator(EcsRunTaskOperator):
    """Runs a stage's command in its service's image as a Fargate task, with the run's
    parameters. The overrides are built when the task runs, from the run's conf."""

    def __init__(
        self, *, command: StageCommand, defaults: dict[str, Any], ecs: EcsSettings, **kwargs: Any
    ):
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
            **kwargs,
        )
        self.command = command
        self.defaults = defaults
        self.ecs = ecs
        self.service = service

    def container_overrides(self, params: dict[str, Any], run_id: str) -> dict[str, Any]:
        """The run's command for the service's container: the stage's arguments."""
        args = self.command.args_for(params, self.ecs.params_uri(run_id))
        return {"containerOverrides": [{"name": self.service, "command": args}]}

    def execute(self, context: Any) -> Any:
        params = run_params(self.defaults, context["dag_run"].conf, context["logical_date"])
        uri = self.ecs.params_uri(context["run_id"])
        S3Hook().load_string(yaml.safe_dump(params, sort_keys=False), key=uri, replace=True)
        self.overrides = self.container_overrides(params, context["run_id"])
        return super().execute(context)  # type: ignore[no-untyped-call]
