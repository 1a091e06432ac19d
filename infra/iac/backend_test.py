from __future__ import annotations

import json
import shutil
from pathlib import Path

import hcl2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iac.backend import (
    BACKEND_FILE,
    UNQUOTABLE,
    BackendError,
    backend_settings,
    main,
    write_backend,
)
from iac.conftest import INFRA

AWS = INFRA / "envs" / "aws"
STATE = 'terraform_state_bucket = "acme-tfstate"\nterraform_state_lock_table = "acme-lock"\n'


@pytest.fixture
def aws(tmp_path: Path) -> Path:
    """envs/aws's variable declarations, without any terraform.tfvars."""
    directory = tmp_path / "aws"
    directory.mkdir()
    for path in AWS.glob("*.tf"):
        shutil.copy(path, directory)
    return directory


def written(directory: Path) -> dict[str, object]:
    """backend.hcl's settings, as python-hcl2 reads them (it gives comments a key too)."""
    parsed: dict[str, object] = hcl2.loads((directory / BACKEND_FILE).read_text())
    return {
        key: value.strip('"') if isinstance(value, str) else value
        for key, value in parsed.items()
        if not key.startswith("__")
    }


def test_the_backend_is_the_variables_with_their_defaults(aws: Path) -> None:
    (aws / "terraform.tfvars").write_text(STATE)
    write_backend(aws, {})
    assert written(aws) == {
        "bucket": "acme-tfstate",
        "key": "ml-platform/aws/terraform.tfstate",
        "region": "us-east-1",
        "dynamodb_table": "acme-lock",
        "encrypt": True,
    }


def test_the_example_tfvars_gives_a_whole_backend(aws: Path) -> None:
    shutil.copy(AWS / "example.tfvars", aws / "terraform.tfvars")
    settings = backend_settings(aws, {})
    assert settings["bucket"] == "acme-ml-platform-tfstate"
    assert settings["dynamodb_table"] == "ml-platform-tfstate-lock"


def test_values_take_terraforms_precedence(aws: Path) -> None:
    """Defaults, then TF_VAR_, then terraform.tfvars, its JSON form, the *.auto.tfvars."""
    environ = {"TF_VAR_terraform_state_key": "from/env", "TF_VAR_region": "eu-west-1"}
    environ |= {
        "TF_VAR_terraform_state_bucket": "env-bucket",
        "TF_VAR_terraform_state_lock_table": "env-lock",
    }
    assert backend_settings(aws, environ) == {
        "bucket": "env-bucket",
        "key": "from/env",
        "region": "eu-west-1",
        "dynamodb_table": "env-lock",
    }
    (aws / "terraform.tfvars").write_text(STATE + 'terraform_state_key = "from/tfvars"\n')
    (aws / "terraform.tfvars.json").write_text(json.dumps({"region": "eu-central-1"}))
    (aws / "b.auto.tfvars").write_text('terraform_state_key = "from/b"\n')
    (aws / "a.auto.tfvars.json").write_text(json.dumps({"terraform_state_key": "from/a"}))
    assert backend_settings(aws, environ) == {
        "bucket": "acme-tfstate",
        "key": "from/b",
        "region": "eu-central-1",
        "dynamodb_table": "acme-lock",
    }


def test_a_missing_state_bucket_and_table_are_named_and_nothing_is_written(aws: Path) -> None:
    with pytest.raises(BackendError) as error:
        write_backend(aws, {})
    assert "terraform_state_bucket, terraform_state_lock_table" in str(error.value)
    assert "TERRAFORM_TFVARS" in str(error.value)
    assert sorted(p.name for p in aws.iterdir()) == sorted(p.name for p in AWS.glob("*.tf"))


def test_a_backend_file_written_by_someone_else_is_kept(aws: Path) -> None:
    (aws / "terraform.tfvars").write_text(STATE)
    own = 'bucket = "mine"\nprofile = "admin"\n'
    (aws / BACKEND_FILE).write_text(own)
    with pytest.raises(BackendError, match="was not written by infra:backend, so it is kept"):
        write_backend(aws, {})
    assert (aws / BACKEND_FILE).read_text() == own


def test_its_own_backend_file_is_replaced_whole(aws: Path) -> None:
    (aws / "terraform.tfvars").write_text(STATE)
    write_backend(aws, {})
    (aws / "terraform.tfvars").write_text(
        STATE + 'terraform_state_key = "moved/terraform.tfstate"\n'
    )
    write_backend(aws, {})
    assert written(aws)["key"] == "moved/terraform.tfstate"
    left = {p.name for p in aws.iterdir()} - {p.name for p in AWS.glob("*.tf")}
    assert left == {"terraform.tfvars", BACKEND_FILE}


def test_an_unreadable_tfvars_file_is_named(aws: Path) -> None:
    (aws / "terraform.tfvars").write_text('terraform_state_bucket = "unterminated\n')
    with pytest.raises(BackendError, match="terraform.tfvars"):
        backend_settings(aws, {})


def test_a_value_that_is_not_a_string_is_named(aws: Path) -> None:
    (aws / "terraform.tfvars.json").write_text(
        json.dumps({"terraform_state_bucket": ["a"], "terraform_state_lock_table": "lock"})
    )
    with pytest.raises(BackendError, match=r"terraform_state_bucket must be a string, not \['a'\]"):
        backend_settings(aws, {})


NAME = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=NAME)
def test_any_key_is_written_as_itself_or_refused_by_name(aws: Path, key: str) -> None:
    """What backend.hcl says is the variable's value exactly; a value HCL would read as
    something else (an escape, a template) is refused, naming the variable, and the file
    written before stays as it was."""
    (aws / "terraform.tfvars").write_text(STATE)
    write_backend(aws, {})
    before = (aws / BACKEND_FILE).read_text()
    environ = {"TF_VAR_terraform_state_key": key}
    if any(part in key for part in UNQUOTABLE) or not key.isprintable():
        with pytest.raises(BackendError, match="terraform_state_key"):
            write_backend(aws, environ)
        assert (aws / BACKEND_FILE).read_text() == before
    else:
        write_backend(aws, environ)
        assert written(aws)["key"] == key


def test_the_command_says_what_it_wrote_or_what_is_wrong(
    aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(aws)]) == 2
    assert "backend: " in capsys.readouterr().err
    assert main([str(aws / "missing")]) == 2
    assert "missing does not exist: name the environment's root module" in capsys.readouterr().err
    (aws / "terraform.tfvars").write_text(STATE)
    assert main([str(aws)]) == 0
    assert f"wrote {aws / BACKEND_FILE}" in capsys.readouterr().out
