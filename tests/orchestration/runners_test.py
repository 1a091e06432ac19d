"""On MWAA the pipeline's tasks run the services' images as ECS tasks: the generated task
definitions, and the container commands, which are the local PEX's arguments."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from flight_orchestration import settings
from flight_orchestration.commands import run_params
from flight_orchestration.pipeline import BENTO_TASK, build_pipeline_dag
from flight_orchestration.runners import EcsSettings, EcsStageOperator
from flight_orchestration.stages import read_params
from tests.orchestration.conftest import SANDBOX_ROOT

ECS_SETTINGS: dict[str, object] = {
    "cluster": "ml-platform-prod",
    "task_definitions": {
        "ingest": "ml-platform-prod-ingest",
        "feature": "ml-platform-prod-feature",
        "train": "ml-platform-prod-train",
    },
    "subnets": ["subnet-1", "subnet-2"],
    "security_groups": ["sg-1"],
    "params_prefix": "s3://prod-artifacts/runs/",
}
RUN_ID = "manual__2013-12-03T00:00:00+00:00"


def use_ecs(monkeypatch: pytest.MonkeyPatch, ecs: dict[str, object]) -> None:
    monkeypatch.setenv(settings.environment_variable(settings.RUNNER_VARIABLE), "ecs")
    monkeypatch.setenv(settings.environment_variable(settings.ECS_VARIABLE), json.dumps(ecs))


def test_every_stage_runs_its_services_image_on_fargate(monkeypatch: pytest.MonkeyPatch) -> None:
    local = build_pipeline_dag(SANDBOX_ROOT)
    use_ecs(monkeypatch, ECS_SETTINGS)
    dag = build_pipeline_dag(SANDBOX_ROOT)

    # The stage graph is the local one; the Bento is the deploy workflow's in the cloud.
    stages = {t.task_id: set(t.upstream_task_ids) for t in local.tasks if t.task_id != BENTO_TASK}
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == stages
    services = {"land": "ingest", "ingest": "ingest", "features": "feature"}
    services |= {"online_store": "feature", "train": "train", "evaluate": "train"}
    for task in dag.tasks:
        assert isinstance(task, EcsStageOperator)
        service = services[task.task_id]
        assert task.task_definition == f"ml-platform-prod-{service}"
        assert task.cluster == "ml-platform-prod"
        assert task.launch_type == "FARGATE"
        assert task.network_configuration == {
            "awsvpcConfiguration": {
                "subnets": ["subnet-1", "subnet-2"],
                "securityGroups": ["sg-1"],
                "assignPublicIp": "DISABLED",
            }
        }


def test_a_container_runs_the_local_pex_arguments_with_the_runs_params_in_s3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    local = build_pipeline_dag(SANDBOX_ROOT)
    use_ecs(monkeypatch, ECS_SETTINGS)
    dag = build_pipeline_dag(SANDBOX_ROOT)
    conf = {"params": {"train.torch.epochs": 1}}
    params = run_params(read_params(SANDBOX_ROOT), conf, dt.datetime(2013, 12, 3, tzinfo=dt.UTC))
    uri = "s3://prod-artifacts/runs/manual__2013-12-03T00_00_00_00_00/params.yaml"
    for task in dag.tasks:
        assert isinstance(task, EcsStageOperator)
        command = local.get_task(task.task_id).command  # type: ignore[union-attr]
        local_file = tmp_path / "params.yaml"
        local_args = command.argv(tmp_path, params, local_file)[1:]
        overrides = task.container_overrides(params, RUN_ID)
        (container,) = overrides["containerOverrides"]
        assert container["name"] == services_name(task)
        # The image's entry point is the PEX: the command is what follows it locally, with the
        # params file in S3.
        assert container["command"] == [uri if a == str(local_file) else a for a in local_args]
    train = dag.get_task("train")
    assert isinstance(train, EcsStageOperator)
    (container,) = train.container_overrides(params, RUN_ID)["containerOverrides"]
    assert container["command"][container["command"].index("--params") + 1] == uri
    land = dag.get_task("land")
    assert isinstance(land, EcsStageOperator)
    (container,) = land.container_overrides(params, RUN_ID)["containerOverrides"]
    assert container["command"][container["command"].index("--end") + 1] == "2013-12-03"


def services_name(task: EcsStageOperator) -> str:
    return task.command.artifact.parts[0].removeprefix("services.")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task_definitions": {"ingest": "x"}}, "no task definition for the feature service"),
        ({"subnets": []}, "subnets must be a non-empty list"),
        ({"params_prefix": "/tmp/runs"}, "params_prefix must be an s3:// URL"),
        ({"clustr": "typo"}, "unknown \\['clustr'\\]"),
    ],
)
def test_bad_ecs_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, object], message: str
) -> None:
    use_ecs(monkeypatch, ECS_SETTINGS | change)
    with pytest.raises(settings.SettingError, match=message):
        build_pipeline_dag(SANDBOX_ROOT)


def test_an_unknown_runner_or_missing_ecs_settings_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(settings.environment_variable(settings.RUNNER_VARIABLE), "k8s")
    with pytest.raises(settings.SettingError, match="'k8s': expected local or ecs"):
        build_pipeline_dag(SANDBOX_ROOT)
    monkeypatch.setenv(settings.environment_variable(settings.RUNNER_VARIABLE), "ecs")
    with pytest.raises(settings.SettingError, match="flight_delay_ecs is not set"):
        build_pipeline_dag(SANDBOX_ROOT)
    with pytest.raises(settings.SettingError, match="is not JSON"):
        EcsSettings.from_json("{", "flight_delay_ecs")
