"""On MWAA the pipeline's tasks run the services' images as ECS tasks: the generated task
definitions, and the container commands, which are the local PEX's arguments; with a sagemaker
block the train stage is a SageMaker training job of the train image instead."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from airflow.models.dag import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
from airflow.utils.xcom import XCOM_RETURN_KEY

from flight_orchestration import settings
from flight_orchestration.commands import run_params, write_params
from flight_orchestration.pipeline import BENTO_TASK, ArtifactOperator, build_pipeline_dag
from flight_orchestration.run_parameters import PARAMS_TASK, TASK_DEFINITIONS_KEY, RunParamsError
from flight_orchestration.runners import (
    EcsSettings,
    EcsStageOperator,
    SageMakerTrainingStageOperator,
    training_job_name,
)
from flight_orchestration.stages import read_params
from tests.orchestration.conftest import SANDBOX_ROOT
from tests.orchestration.ecs_settings import ECS_SETTINGS, RUN_ID, SAGEMAKER


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
    for task in stage_tasks(dag):
        assert isinstance(task, EcsStageOperator)
        service = services[task.task_id]
        assert task.task_definition == f"ml-platform-prod-{service}"
        assert task.cluster == "ml-platform-prod"
        assert task.launch_type == "FARGATE"
        # A retry waits for its earlier try's task if it still runs (started by the same
        # TaskInstanceKey), rather than starting a second one on the same working directory.
        assert task.reattach is True
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
    uri = "s3://prod-artifacts/runs/manual__2013-12-03T00_00_00_00_00-7d0124d0d2e8/params.yaml"
    for task in stage_tasks(dag):
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


def stage_tasks(dag: DAG) -> list[object]:
    """The DAG's tasks but the one that fixes the run's parameters."""
    return [task for task in dag.tasks if task.task_id != PARAMS_TASK]


def test_an_ecs_task_uploads_and_runs_the_parameters_its_run_fixed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each task computed the run's parameters from params.yaml as parsed for it: a changed
    params.yaml gave a run's later stages, and the params file in S3, other parameters."""
    use_ecs(monkeypatch, ECS_SETTINGS)
    train = build_pipeline_dag(SANDBOX_ROOT).get_task("train")
    assert isinstance(train, EcsStageOperator)
    conf = {"params": {"train.torch.epochs": 1}}
    params = run_params(read_params(SANDBOX_ROOT), conf, dt.datetime(2013, 12, 3, tzinfo=dt.UTC))
    uploaded: dict[str, str] = {}

    def load_string(hook: S3Hook, text: str, key: str, replace: bool) -> None:
        uploaded[key] = text

    monkeypatch.setattr(S3Hook, "load_string", load_string)
    monkeypatch.setattr(EcsRunTaskOperator, "execute", lambda task, context: task.overrides)
    # No earlier try's task to wait for (ecs_task_test.py runs that against the emulator).
    monkeypatch.setattr(EcsStageOperator, "wait_for_stopping_tasks", lambda task, context: None)
    # What the run's first task fixed: the parameters and the task definition revisions.
    pinned = {
        "train": "arn:aws:ecs:us-east-1:123456789012:task-definition/ml-platform-prod-train:7"
    }
    xcoms = {XCOM_RETURN_KEY: params, TASK_DEFINITIONS_KEY: pinned}
    fixed = {
        "ti": SimpleNamespace(xcom_pull=lambda task_ids, key=XCOM_RETURN_KEY: xcoms[key]),
        "run_id": RUN_ID,
    }
    assert train.execute(fixed) == train.container_overrides(params, RUN_ID)
    assert yaml.safe_load(uploaded[train.ecs.params_uri(RUN_ID)]) == params
    assert train.task_definition == pinned["train"]
    none = {"ti": SimpleNamespace(xcom_pull=lambda task_ids, key=None: None), "run_id": RUN_ID}
    with pytest.raises(RunParamsError, match=f"no parameters from its {PARAMS_TASK} task"):
        train.execute(none)


def test_the_ecs_run_s_first_task_fixes_the_settings_task_definitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its stages run the revisions it fixed (ecs_task_test.py runs them against the emulator);
    the local runner's fixes none."""
    use_ecs(monkeypatch, ECS_SETTINGS)
    first = build_pipeline_dag(SANDBOX_ROOT).get_task(PARAMS_TASK)
    assert isinstance(first, PythonOperator)
    assert first.op_kwargs["task_definitions"] == ECS_SETTINGS["task_definitions"]
    assert first.op_kwargs["directories"] is False
    assert first.op_kwargs["training_image"] is None  # no sagemaker block
    monkeypatch.delenv(settings.environment_variable(settings.RUNNER_VARIABLE))
    local = build_pipeline_dag(SANDBOX_ROOT).get_task(PARAMS_TASK)
    assert isinstance(local, PythonOperator)
    assert local.op_kwargs["task_definitions"] is None


def services_name(task: EcsStageOperator) -> str:
    return task.command.artifact.parts[0].removeprefix("services.")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task_definitions": {"ingest": "x"}}, "no task definition for the feature service"),
        ({"subnets": []}, "subnets must be a non-empty list"),
        ({"params_prefix": "/tmp/runs"}, "params_prefix must be an s3:// URL"),
        # Joined with a run's key, this was the local path `s3:/<run>/params.yaml`.
        (
            {"params_prefix": "s3://"},
            "params_prefix must be an s3:// URL with its bucket, not 's3://'",
        ),
        ({"params_prefix": "s3://[runs"}, "params_prefix must be an s3:// URL with its bucket"),
        ({"clustr": "typo"}, "unknown \\['clustr'\\]"),
        ({"logs": "/ecs/pipeline"}, "logs must be a JSON object"),
        ({"logs": {"group": "/ecs/pipeline"}}, r"logs: missing \['stream_prefix'\]"),
        ({"logs": {"group": "", "stream_prefix": "p"}}, "logs: group must be a non-empty string"),
    ],
)
def test_bad_ecs_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, object], message: str
) -> None:
    use_ecs(monkeypatch, ECS_SETTINGS | change)
    with pytest.raises(settings.SettingError, match=message):
        build_pipeline_dag(SANDBOX_ROOT)


def test_with_a_logs_block_each_task_follows_its_containers_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_ecs(monkeypatch, ECS_SETTINGS)
    tasks = stage_tasks(build_pipeline_dag(SANDBOX_ROOT))
    assert all(isinstance(t, EcsStageOperator) and t.awslogs_group is None for t in tasks)

    logs = {"group": "/ml-platform/ml-platform-prod-pipeline", "stream_prefix": "pipeline"}
    use_ecs(monkeypatch, ECS_SETTINGS | {"logs": logs})
    for task in stage_tasks(build_pipeline_dag(SANDBOX_ROOT)):
        assert isinstance(task, EcsStageOperator)
        # The awslogs driver's stream is <prefix>/<container>/<task ID>; the operator adds the ID.
        assert task.awslogs_group == "/ml-platform/ml-platform-prod-pipeline"
        assert task.awslogs_stream_prefix == f"pipeline/{task.service}"
        overrides = task.container_overrides(read_params(SANDBOX_ROOT), RUN_ID)
        container = overrides["containerOverrides"][0]["name"]
        assert task.awslogs_stream_prefix == f"pipeline/{container}"


def test_an_unknown_runner_or_missing_ecs_settings_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(settings.environment_variable(settings.RUNNER_VARIABLE), "k8s")
    with pytest.raises(settings.SettingError, match="'k8s': expected local or ecs"):
        build_pipeline_dag(SANDBOX_ROOT)
    monkeypatch.setenv(settings.environment_variable(settings.RUNNER_VARIABLE), "ecs")
    with pytest.raises(
        settings.SettingError,
        match="^AIRFLOW_VAR_FLIGHT_DELAY_ECS is not set: .* set in the UI or the CLI is not read",
    ):
        build_pipeline_dag(SANDBOX_ROOT)
    with pytest.raises(settings.SettingError, match="is not JSON"):
        EcsSettings.from_json("{", "flight_delay_ecs")


def local_argument(dag: DAG, task_id: str, option: str, params: dict[str, Any]) -> str:
    """The value the local runner gives the stage's `option`."""
    task = dag.get_task(task_id)
    assert isinstance(task, ArtifactOperator)
    args = task.command.args_for(params, "params.yaml")
    return args[args.index(option) + 1]


def test_with_a_sagemaker_block_the_train_stage_is_a_training_job(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    local = build_pipeline_dag(SANDBOX_ROOT)
    use_ecs(monkeypatch, ECS_SETTINGS)
    plain = build_pipeline_dag(SANDBOX_ROOT)
    use_ecs(monkeypatch, ECS_SETTINGS | {"sagemaker": SAGEMAKER})
    dag = build_pipeline_dag(SANDBOX_ROOT)

    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == {
        t.task_id: set(t.upstream_task_ids) for t in plain.tasks
    }
    train = dag.get_task("train")
    assert isinstance(train, SageMakerTrainingStageOperator)
    # Every other stage, evaluate included, is the plain ECS task.
    params = run_params(read_params(SANDBOX_ROOT), {}, dt.datetime(2013, 12, 3, tzinfo=dt.UTC))
    for task in stage_tasks(dag):
        if task is not train:
            assert isinstance(task, EcsStageOperator)
            ecs_task = plain.get_task(task.task_id)
            assert isinstance(ecs_task, EcsStageOperator)
            assert task.task_definition == ecs_task.task_definition
            overrides = task.container_overrides(params, RUN_ID)
            assert overrides == ecs_task.container_overrides(params, RUN_ID)

    conf = {"params": {"train.torch.epochs": 1, "promote.margin": 0.01}}
    params = run_params(read_params(SANDBOX_ROOT), conf, dt.datetime(2013, 12, 3, tzinfo=dt.UTC))
    # The run's first task fixes the settings' image; the job runs the one it fixed.
    first = dag.get_task(PARAMS_TASK)
    assert isinstance(first, PythonOperator)
    assert first.op_kwargs["training_image"] == SAGEMAKER["image"]
    config = train.training_config(params, RUN_ID, "the run's image")
    assert config["AlgorithmSpecification"] == {
        "TrainingImage": "the run's image",
        "TrainingInputMode": "File",
    }
    assert config["RoleArn"] == SAGEMAKER["role_arn"]
    assert config["ResourceConfig"] == {
        "InstanceType": "ml.g5.xlarge",
        "InstanceCount": 2,
        "VolumeSizeInGB": 30,
    }
    assert config["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert config["OutputDataConfig"] == {"S3OutputPath": "s3://prod-artifacts/models/sagemaker"}
    assert config["VpcConfig"] == {
        "SecurityGroupIds": ["sg-1"],
        "Subnets": ["subnet-1", "subnet-2"],
    }

    # The hyperparameters are the train service's groups of the params file the local runner
    # writes for the same conf, which its PEX reads.
    local_file = write_params(params, tmp_path / "params.yaml")
    pex_params = yaml.safe_load(local_file.read_text())
    # Each group is a string (SageMaker's type) the train service reads as YAML.
    hyperparameters = config["HyperParameters"]
    assert all(isinstance(v, str) for v in hyperparameters.values())
    assert {group: yaml.safe_load(v) for group, v in hyperparameters.items()} == {
        group: pex_params[group] for group in train_stage_groups()
    }
    assert yaml.safe_load(hyperparameters["train"])["torch"]["epochs"] == 1

    # Data flow: features read-only from the working directory's data/features on EFS; the
    # models written through the read-write working-directory channel where evaluate reads them.
    channels = {c["ChannelName"]: c for c in config["InputDataConfig"]}
    assert set(channels) == {"features", "workdir"}
    sources = {n: c["DataSource"]["FileSystemDataSource"] for n, c in channels.items()}
    features = local_argument(local, "train", "--features", params)
    assert sources["features"] == {
        "FileSystemId": "fs-0123abcd",
        "FileSystemType": "EFS",
        "FileSystemAccessMode": "ro",
        "DirectoryPath": f"/pipeline/{features}",
    }
    assert sources["workdir"] == sources["features"] | {
        "FileSystemAccessMode": "rw",
        "DirectoryPath": "/pipeline",
    }
    assert all(c["InputMode"] == "File" for c in channels.values())
    models = local_argument(local, "evaluate", "--models", params)
    assert config["Environment"] == {"TRAIN_MODELS_DIR": f"/opt/ml/input/data/workdir/{models}"}
    assert config["TrainingJobName"] == training_job_name(RUN_ID)


@pytest.mark.parametrize(
    "run_id",
    [RUN_ID, "scheduled__2013-12-03T00:00:00+00:00", "x" * 250, "manual__-__"],
)
def test_a_training_job_name_is_valid_with_the_operators_timestamp_suffix(run_id: str) -> None:
    name = training_job_name(run_id)
    for try_number in (1, 2, 999):
        # The operator appends -<milliseconds since the epoch> to a name that exists.
        with_try = training_job_name(run_id, try_number)
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", f"{with_try}-{2**43}")
    assert training_job_name(run_id) == training_job_name(run_id, 1) == name
    assert training_job_name(run_id, 2) == f"{name}-2"
    assert training_job_name(run_id + "1") != name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"role_arn": None}, r"sagemaker: missing \['role_arn'\], unknown nothing"),
        (
            {"instance_typ": "ml.m5.xlarge"},
            r"sagemaker: missing nothing, unknown \['instance_typ'\]",
        ),
        ({"image": ""}, "sagemaker: image must be a non-empty string"),
        ({"role_arn": "ml-platform-prod-sagemaker-training"}, "sagemaker: role_arn must be an IAM"),
        ({"instance_type": "m5.xlarge"}, "sagemaker: instance_type must be a SageMaker instance"),
        ({"instance_count": 0}, "sagemaker: instance_count must be a whole number above 0"),
        ({"instance_count": True}, "sagemaker: instance_count must be a whole number above 0"),
        ({"volume_size_gb": "30"}, "sagemaker: volume_size_gb must be a whole number above 0"),
        # SageMaker refuses a job above 28 days when it is created, after land to features ran;
        # botocore's model has no maximum to check it by.
        (
            {"max_runtime_seconds": 28 * 24 * 3600 + 1},
            r"sagemaker: max_runtime_seconds 2419201 is more than 2419200 \(28 days",
        ),
        ({"output_path": "/tmp/models"}, "sagemaker: output_path must be an s3:// URL"),
        ({"file_system_id": "pipeline"}, "sagemaker: file_system_id must be an EFS file system"),
        ({"directory_path": "pipeline"}, "sagemaker: directory_path must be an absolute path"),
    ],
)
def test_bad_sagemaker_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, object], message: str
) -> None:
    sagemaker = {k: v for k, v in (SAGEMAKER | change).items() if v is not None}
    use_ecs(monkeypatch, ECS_SETTINGS | {"sagemaker": sagemaker})
    with pytest.raises(settings.SettingError, match=f"^flight_delay_ecs.{message}"):
        build_pipeline_dag(SANDBOX_ROOT)
    use_ecs(monkeypatch, ECS_SETTINGS | {"sagemaker": ["not", "an", "object"]})
    with pytest.raises(settings.SettingError, match="sagemaker must be a JSON object"):
        build_pipeline_dag(SANDBOX_ROOT)


def train_stage_groups() -> set[str]:
    """The params groups of dvc.yaml's stages that run the train artifact."""
    stages = yaml.safe_load((SANDBOX_ROOT / "dvc.yaml").read_text())["stages"]
    return {
        group
        for stage in stages.values()
        if "services.train/train.pex" in stage["cmd"]
        for group in stage.get("params", [])
    }


def test_the_ecs_and_sagemaker_waits_end_at_the_run_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ECS waiter polled every 6 s for a million attempts (about 69 days). Bounded by the
    task's timeout, the task is killed first (on_kill stops its ECS task or job): a waiter that
    gives up leaves it running."""
    use_ecs(monkeypatch, ECS_SETTINGS | {"sagemaker": SAGEMAKER})
    for configured, hours in ((None, 24), ("2", 2)):
        if configured is not None:
            monkeypatch.setenv(
                settings.environment_variable(settings.RUN_TIMEOUT_VARIABLE), configured
            )
        timeout = dt.timedelta(hours=hours).total_seconds()
        dag = build_pipeline_dag(SANDBOX_ROOT)
        for task in stage_tasks(dag):
            if isinstance(task, SageMakerTrainingStageOperator):
                assert task.max_ingestion_time == timeout
                continue
            assert isinstance(task, EcsStageOperator)
            waited = task.waiter_max_attempts * task.waiter_delay
            assert timeout <= waited < timeout + task.waiter_delay, task.task_id
