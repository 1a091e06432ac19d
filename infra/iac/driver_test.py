"""The python-terraform driver against a real engine: the local environment applied into a
temporary directory, checked, applied again, and destroyed."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from python_terraform import Terraform

from iac.conftest import copy_infra
from iac.driver import TerraformError, Workspace
from iac.engine import Engine


def local_workspace(
    infra_copy: Path,
    scratch: Path,
    engine: Engine,
    workspace_name: str | None = None,
    **variables: str | bool,
) -> Workspace:
    values: dict[str, str | bool] = {
        "build_dir": str(scratch / "build"),
        "dvc_remote_dir": str(scratch / "dvc-remote"),
        **variables,
    }
    workspace = Workspace(infra_copy / "envs" / "local", values, engine, workspace_name)
    workspace.init()
    return workspace


def wrapped(text: str) -> str:
    """A pattern matching `text` as Terraform prints it in a diagnostic: wrapped at any space."""
    return r"\s+".join(re.escape(word) for word in text.split(" "))


def test_apply_gives_the_outputs_a_second_apply_changes_nothing_destroy_removes_all(
    infra_copy: Path, scratch: Path, engine: Engine
) -> None:
    workspace = local_workspace(infra_copy, scratch, engine)
    workspace.apply()
    outputs = workspace.output()
    assert outputs["environment"] == "local"
    assert outputs["dvc_remote_url"] == str(scratch / "dvc-remote")
    assert outputs["model_store_url"] == str(scratch / "build" / "bentoml")
    assert outputs["landing_url"] == str(
        scratch / "build" / "infra" / "local" / "ml-platform-local-landing"
    )
    for name in ("dvc_remote_url", "model_store_url", "landing_url"):
        assert Path(outputs[name]).is_dir()

    assert not workspace.plan_has_changes()
    assert "0 added, 0 changed, 0 destroyed" in workspace.apply().stdout

    workspace.destroy()
    assert list(scratch.iterdir()) == []
    assert workspace.output() == {}


def test_destroy_keeps_a_location_holding_data_unless_force_destroy(
    infra_copy: Path, scratch: Path, engine: Engine
) -> None:
    workspace = local_workspace(infra_copy, scratch, engine)
    workspace.apply()
    model = Path(workspace.output()["model_store_url"]) / "models" / "baseline"
    model.mkdir(parents=True)

    with pytest.raises(TerraformError, match="is not empty"):
        workspace.destroy()
    assert model.is_dir()

    forced = local_workspace(infra_copy, scratch, engine, force_destroy=True)
    forced.apply()
    forced.destroy()
    assert list(scratch.iterdir()) == []


def test_a_location_that_existed_before_apply_is_left_by_destroy(
    infra_copy: Path, scratch: Path, engine: Engine
) -> None:
    remote = scratch / "dvc-remote"
    (remote / "files").mkdir(parents=True)
    workspace = local_workspace(infra_copy, scratch, engine)
    workspace.apply()
    workspace.destroy()
    assert [p.name for p in scratch.iterdir()] == ["dvc-remote"]
    assert [p.name for p in remote.iterdir()] == ["files"]


def test_a_clone_never_destroys_the_shared_dvc_remote_another_clone_created(
    infra_copy: Path, scratch: Path, engine: Engine, tmp_path: Path
) -> None:
    # Two clones on one machine, each with its own state and build directory, and the one DVC
    # remote that dvc_remote_dir's default gives them all.
    first = local_workspace(infra_copy, scratch, engine, build_dir=str(scratch / "first"))
    first.apply()
    pushed = Path(first.output()["dvc_remote_url"]) / "files" / "md5" / "ab" / "cdef"
    pushed.parent.mkdir(parents=True)
    pushed.write_text("data")

    second_clone = copy_infra(tmp_path / "second-clone")
    second = local_workspace(second_clone, scratch, engine, build_dir=str(scratch / "second"))
    second.apply()
    forced = local_workspace(
        second_clone, scratch, engine, build_dir=str(scratch / "second"), force_destroy=True
    )
    forced.apply()
    forced.destroy()
    assert pushed.read_text() == "data"
    assert not (scratch / "second").exists()

    # The clone that created it still removes it, once forced.
    first_forced = local_workspace(
        infra_copy, scratch, engine, build_dir=str(scratch / "first"), force_destroy=True
    )
    first_forced.apply()
    first_forced.destroy()
    assert list(scratch.iterdir()) == []


def test_each_environment_has_its_own_state_and_leaves_the_others_as_they_are(
    infra_copy: Path, scratch: Path, engine: Engine
) -> None:
    local = local_workspace(infra_copy, scratch, engine)
    local.apply()
    local_outputs = local.output()

    with pytest.raises(TerraformError, match=wrapped("Environment ci has a state of its own")):
        local_workspace(infra_copy, scratch, engine, environment="ci").apply()

    ci = local_workspace(infra_copy, scratch, engine, workspace_name="ci")
    ci.apply()
    ci_landing = Path(ci.output()["landing_url"])
    assert ci.output()["environment"] == "ci"
    assert ci_landing == scratch / "build" / "infra" / "ci" / "ml-platform-ci-landing"
    assert ci_landing.is_dir()
    assert local.output() == local_outputs
    assert not local.plan_has_changes()

    ci.destroy()
    assert not ci_landing.exists()
    assert Path(local_outputs["landing_url"]).is_dir()
    local.destroy()
    assert list(scratch.iterdir()) == []


def test_destroying_another_environment_leaves_the_locations_of_local(
    infra_copy: Path, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every path at its default: the repo copy's build/, and the DVC remotes under a HOME of
    # the test's own. ci applies first, so it creates whatever it shares with local.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    remotes = tmp_path / "home" / ".cache" / "ml-platform"
    build = infra_copy.parent / "build"

    def applied(workspace_name: str | None) -> Workspace:
        workspace = Workspace(
            infra_copy / "envs" / "local", {"force_destroy": True}, engine, workspace_name
        )
        workspace.init()
        workspace.apply()
        return workspace

    ci = applied("ci")
    local = applied(None)
    outputs = local.output()
    assert (outputs["dvc_remote_url"], outputs["model_store_url"]) == (
        str(remotes / "dvc-remote"),
        str(build / "bentoml"),
    )
    assert (ci.output()["dvc_remote_url"], ci.output()["model_store_url"]) == (
        str(remotes / "dvc-remote-ci"),
        str(build / "infra" / "ci" / "bentoml"),
    )
    kept = [Path(outputs[name]) / "kept" for name in ("dvc_remote_url", "model_store_url")]
    for path in kept:
        path.write_text("data")

    ci.destroy()

    assert [path.read_text() for path in kept] == ["data", "data"]
    assert not (remotes / "dvc-remote-ci").exists()
    assert not (build / "infra" / "ci" / "bentoml").exists()
    assert not local.plan_has_changes()
    local.destroy()


def test_a_workspace_name_terraform_would_not_take_is_refused_before_it_runs(
    infra_copy: Path, engine: Engine
) -> None:
    with pytest.raises(ValueError, match="workspace 'ci --help' is no Terraform workspace name"):
        Workspace(infra_copy / "envs" / "local", {}, engine, "ci --help")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        # Refused at plan, by the path's validation.
        (lambda path: path.write_text(""), "is a file: a location must be a directory"),
        # Past the validation; apply's script refuses it before the old location goes.
        (os.mkfifo, "exists and is not a directory"),
    ],
    ids=["file", "fifo"],
)
def test_a_new_location_that_cannot_be_a_directory_leaves_the_old_one(
    infra_copy: Path,
    scratch: Path,
    engine: Engine,
    make: Callable[[Path], object],
    message: str,
) -> None:
    workspace = local_workspace(infra_copy, scratch, engine)
    workspace.apply()
    remote = Path(workspace.output()["dvc_remote_url"])
    not_a_directory = scratch / "not-a-directory"
    make(not_a_directory)

    moved = local_workspace(infra_copy, scratch, engine, dvc_remote_dir=str(not_a_directory))
    with pytest.raises(TerraformError, match=wrapped(f"{not_a_directory} {message}")):
        moved.apply()
    assert remote.is_dir()
    assert workspace.output()["dvc_remote_url"] == str(remote)

    # Back on the old path, the location is still this state's: destroy removes it.
    workspace.apply()
    workspace.destroy()
    assert list(scratch.iterdir()) == [not_a_directory]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("environment", "qa", "Unknown environment name"),
        ("bucket_prefix", "ML_Platform", "Invalid bucket name"),
        ("bucket_prefix", "x" * 46, "Invalid bucket name"),
    ],
)
def test_bad_input_fails_before_anything_is_created(
    infra_copy: Path, scratch: Path, engine: Engine, variable: str, value: str, message: str
) -> None:
    workspace = local_workspace(infra_copy, scratch, engine, **{variable: value})
    with pytest.raises(TerraformError, match=message):
        workspace.apply()
    assert list(scratch.iterdir()) == []


def test_unadapted_python_terraform_destroy_fails_on_the_removed_force_flag(
    infra_copy: Path, scratch: Path, engine: Engine
) -> None:
    """Why the adapter exists: upstream's destroy sends `-force`, which Terraform 1.x rejects."""
    workspace = local_workspace(infra_copy, scratch, engine)
    workspace.apply()
    code, _, stderr = Terraform.destroy(workspace._tf)
    assert code != 0
    assert "-force" in stderr
    workspace.destroy()
    assert list(scratch.iterdir()) == []
