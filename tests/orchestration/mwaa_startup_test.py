"""MWAA's startup script (infra/modules/mwaa/startup), rendered by the real Terraform engine (the
infra:terraform artifact) and run by the shell: the DAGs then parse with the ecs runner and
exactly the settings Terraform was given, under the names flight_orchestration.settings reads,
whatever the settings' strings hold, and with the run timeout it was given, if any."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from flight_orchestration import settings
from flight_orchestration.pipeline import build_pipeline_dag
from flight_orchestration.run_parameters import PARAMS_TASK
from flight_orchestration.runners import (
    EcsSettings,
    EcsStageOperator,
    SageMakerTrainingStageOperator,
)
from tests.orchestration.conftest import SANDBOX_ROOT
from tests.orchestration.ecs_settings import ECS_SETTINGS, SAGEMAKER

TERRAFORM = SANDBOX_ROOT / "infra" / "terraform.pex"
MODULE = SANDBOX_ROOT / "infra" / "modules" / "mwaa" / "startup"
RUNNER = settings.environment_variable(settings.RUNNER_VARIABLE)
ECS = settings.environment_variable(settings.ECS_VARIABLE)
RUN_TIMEOUT = settings.environment_variable(settings.RUN_TIMEOUT_VARIABLE)

# Strings a shell would otherwise read: quotes, the quote-escape sequence itself, expansions,
# escapes, a newline, a NUL and characters outside ASCII.
AWKWARD = [
    "it's",
    "'\\''",
    '"$HOME" $(false) `false` ${X:-y} !1',
    "back\\slash\\",
    "two\nlines\t",
    "nul\x00",
    "é😀",
    "",
    " ' " * 300,
]


def render(root: Path, cases: Mapping[str, Mapping[str, object]]) -> dict[str, str]:
    """The module's script for each case (its inputs, each null if left out), from one
    `terraform apply` of a root module that calls it once per case."""
    (root / "cases.json").write_text(json.dumps({key: json.dumps(v) for key, v in cases.items()}))
    (root / "main.tf").write_text(
        'module "startup" {\n'
        f'  source            = "./{os.path.relpath(MODULE, root)}"\n'
        '  for_each          = jsondecode(file("cases.json"))\n'
        "  ecs_settings      = try(jsondecode(each.value).ecs_settings, null)\n"
        "  run_timeout_hours = try(jsondecode(each.value).run_timeout_hours, null)\n"
        "}\n"
        'output "scripts" {\n'
        "  value = { for key, startup in module.startup : key => startup.content }\n"
        "}\n"
    )
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        subprocess.run([TERRAFORM, f"-chdir={root}", *args, "-no-color"], check=True)
    result = subprocess.run(
        [TERRAFORM, f"-chdir={root}", "output", "-json", "scripts"],
        check=True,
        capture_output=True,
        text=True,
    )
    scripts: dict[str, str] = json.loads(result.stdout)
    return scripts


def exported(script: str, tmp_path: Path) -> dict[str, str]:
    """The environment after `sh` sources the script in an empty one."""
    path = tmp_path / "startup.sh"
    path.write_text(script)
    result = subprocess.run(
        ["sh", "-c", '. "$1" && env -0', "sh", str(path)],
        env={"PATH": os.environ["PATH"]},
        check=True,
        capture_output=True,
    )
    pairs = (entry.split("=", 1) for entry in result.stdout.decode().split("\0") if entry)
    return dict(pairs)


def use_script(script: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings as the script exports them, for the DAG to parse with: one it does not
    export is unset."""
    environment = exported(script, tmp_path)
    for name in (RUNNER, ECS, RUN_TIMEOUT):
        if name in environment:
            monkeypatch.setenv(name, environment[name])
        else:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    cases: dict[str, dict[str, object]] = {
        "ecs": {"ecs_settings": ECS_SETTINGS},
        "sagemaker": {"ecs_settings": {**ECS_SETTINGS, "sagemaker": SAGEMAKER}},
        "awkward": {
            "ecs_settings": {
                **ECS_SETTINGS,
                "task_definitions": {f"s{i}": text for i, text in enumerate(AWKWARD)},
                "nested": [AWKWARD, {"null": None, "true": True, "big": 2**53}],
            }
        },
        "timeout": {"ecs_settings": ECS_SETTINGS, "run_timeout_hours": 1.5},
        "timeout_only": {"run_timeout_hours": 6},
    }
    return render(tmp_path_factory.mktemp("terraform"), cases)


def test_the_script_gives_the_dags_the_ecs_runner_and_its_settings(
    scripts: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_script(scripts["sagemaker"], tmp_path, monkeypatch)

    assert settings.runner() == settings.ECS_RUNNER
    parsed = EcsSettings.from_json(settings.ecs_settings(), ECS)
    assert parsed.cluster == ECS_SETTINGS["cluster"]
    assert parsed.sagemaker is not None and parsed.sagemaker.role_arn == SAGEMAKER["role_arn"]
    tasks = {task.task_id: task for task in build_pipeline_dag(SANDBOX_ROOT).tasks}
    assert isinstance(tasks["train"], SageMakerTrainingStageOperator)
    assert isinstance(tasks["ingest"], EcsStageOperator)


def test_the_settings_reach_the_dags_unchanged_whatever_their_strings_hold(
    scripts: dict[str, str], tmp_path: Path
) -> None:
    environment = exported(scripts["awkward"], tmp_path)

    assert environment[RUNNER] == "ecs"
    settings_given = json.loads(environment[ECS])
    assert list(settings_given["task_definitions"].values()) == AWKWARD
    assert settings_given["nested"] == [AWKWARD, {"null": None, "true": True, "big": 2**53}]
    # And no other Airflow setting.
    assert {name for name in environment if name.startswith("AIRFLOW")} == {RUNNER, ECS}


def test_without_the_sagemaker_block_every_stage_is_an_ecs_task(
    scripts: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_script(scripts["ecs"], tmp_path, monkeypatch)

    assert json.loads(settings.ecs_settings()) == ECS_SETTINGS
    # Every task but the first, which fixes the run's parameters on the worker.
    tasks = [t for t in build_pipeline_dag(SANDBOX_ROOT).tasks if t.task_id != PARAMS_TASK]
    assert tasks and all(isinstance(task, EcsStageOperator) for task in tasks)


def test_a_run_timeout_given_reaches_the_run_and_its_tasks(
    scripts: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timeout is read while the DAG file parses: on MWAA only the startup script can set
    it. A fraction is written as the number it is."""
    use_script(scripts["timeout"], tmp_path, monkeypatch)

    dag = build_pipeline_dag(SANDBOX_ROOT)
    assert dag.dagrun_timeout == dt.timedelta(hours=1.5)
    assert {task.execution_timeout for task in dag.tasks} == {dt.timedelta(hours=1.5)}
    assert settings.runner() == settings.ECS_RUNNER


def test_a_run_timeout_alone_is_exported_without_the_ecs_runner(
    scripts: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = exported(scripts["timeout_only"], tmp_path)
    assert {name for name in environment if name.startswith("AIRFLOW")} == {RUN_TIMEOUT}

    use_script(scripts["timeout_only"], tmp_path, monkeypatch)
    assert settings.runner() == settings.LOCAL_RUNNER
    assert build_pipeline_dag(SANDBOX_ROOT).dagrun_timeout == dt.timedelta(hours=6)


def test_without_a_run_timeout_the_dags_keep_their_own_default(
    scripts: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert RUN_TIMEOUT not in exported(scripts["ecs"], tmp_path)

    use_script(scripts["ecs"], tmp_path, monkeypatch)
    dag = build_pipeline_dag(SANDBOX_ROOT)
    assert dag.dagrun_timeout == dt.timedelta(hours=settings.RUN_TIMEOUT_HOURS)
