"""MWAA's startup script for the ecs runner (infra/modules/mwaa/startup), rendered by the real
Terraform engine (the infra:terraform artifact) and run by the shell: the DAGs then parse with the
ecs runner and exactly the settings Terraform was given, under the names
flight_orchestration.settings reads, whatever the settings' strings hold."""

from __future__ import annotations

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


def render(root: Path, cases: Mapping[str, object]) -> dict[str, str]:
    """The module's script for each case, from one `terraform apply` of a root module that
    calls it once per case."""
    (root / "cases.json").write_text(json.dumps({key: json.dumps(v) for key, v in cases.items()}))
    (root / "main.tf").write_text(
        'module "startup" {\n'
        f'  source       = "./{os.path.relpath(MODULE, root)}"\n'
        '  for_each     = jsondecode(file("cases.json"))\n'
        "  ecs_settings = jsondecode(each.value)\n"
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
    """The runner's two variables as the script exports them, for the DAG to parse with."""
    environment = exported(script, tmp_path)
    for name in (RUNNER, ECS):
        monkeypatch.setenv(name, environment[name])


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    cases = {
        "ecs": ECS_SETTINGS,
        "sagemaker": {**ECS_SETTINGS, "sagemaker": SAGEMAKER},
        "awkward": {
            **ECS_SETTINGS,
            "task_definitions": {f"s{i}": text for i, text in enumerate(AWKWARD)},
            "nested": [AWKWARD, {"null": None, "true": True, "big": 2**53}],
        },
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
