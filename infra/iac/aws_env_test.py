"""The AWS environment against the real AWS provider's schema, where the provider is installed.

Provider plugins cannot be downloaded offline. Where a machine has the AWS provider in a
filesystem mirror (registry.terraform.io/hashicorp/aws/<version>/<os_arch>/...), point
TF_PLUGIN_DIR at the mirror's root and these run `terraform validate` and the mocked
`terraform test` suite. Without it they are skipped; the static checks still run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from iac.driver import Workspace
from iac.engine import Engine

PLUGIN_DIR = os.environ.get("TF_PLUGIN_DIR", "")


def has_aws_provider(directory: str) -> bool:
    return bool(directory) and any(Path(directory).glob("registry.terraform.io/hashicorp/aws/*"))


pytestmark = pytest.mark.skipif(
    not has_aws_provider(PLUGIN_DIR), reason="set TF_PLUGIN_DIR to a mirror with the AWS provider"
)


@pytest.fixture
def aws(infra_copy: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    config = infra_copy.parent / "terraform.rc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{PLUGIN_DIR}"\n  }}\n'
        "}\n"
    )
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(config))
    workspace = Workspace(infra_copy / "envs" / "aws", {}, engine)
    workspace.init(backend=False)
    return workspace


def test_the_aws_environment_validates(aws: Workspace) -> None:
    assert "The configuration is valid" in aws.validate().stdout


def test_the_mocked_aws_test_suite_passes(aws: Workspace) -> None:
    """Every run of the suite passes: the count is the file's, so a run added or dropped is
    counted (a fixed "30 passed" also matched "130 passed", and had to be edited per run)."""
    suite = aws.directory / "tests" / "aws.tftest.hcl"
    runs = len(re.findall(r'^run "', suite.read_text(), flags=re.MULTILINE))
    result = aws.test()
    assert f"\nSuccess! {runs} passed, 0 failed." in result.stdout, result.stdout
