"""`configure` hands the local environment's outputs to DVC and to the services."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from iac.configure import (
    REMOTE,
    REQUIRED_OUTPUTS,
    ConfigureError,
    configure,
    main,
    write_configuration,
)
from iac.driver import Workspace
from iac.engine import ENGINE_VARIABLE
from storage.testing import name_too_long

GOOD_OUTPUTS = {
    "environment": "local",
    "dvc_remote_url": "/srv/dvc-remote",
    "model_store_url": "/srv/bentoml",
    "landing_url": "/srv/landing",
}


def applied_local_environment(infra_copy: Path, scratch: Path) -> Workspace:
    workspace = Workspace(
        infra_copy / "envs" / "local",
        {"build_dir": str(scratch / "build"), "dvc_remote_dir": str(scratch / "dvc-remote")},
    )
    workspace.init()
    workspace.apply()
    return workspace


def test_configure_writes_the_dvc_remote_and_the_environment_file(
    infra_copy: Path, scratch: Path
) -> None:
    repo = infra_copy.parent
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text(
        "[core]\n    remote = local\n['remote \"local\"']\n    url = ~/.cache/x\n"
    )
    workspace = applied_local_environment(infra_copy, scratch)

    outputs, _ = configure(repo, "local")

    # DVC itself reads the result: the default remote is the environment's.
    code = (
        "import sys; from dvc.config import Config; "
        "c = Config(sys.argv[1]); r = c['core']['remote']; print(r, c['remote'][r]['url'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(repo / ".dvc")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["platform", str(scratch / "dvc-remote")]

    env_file = (repo / "build" / "infra" / "local" / "platform.env").read_text()
    assert f"BENTOML_HOME={outputs['model_store_url']}\n" in env_file
    assert f"PLATFORM_LANDING_URL={outputs['landing_url']}\n" in env_file
    workspace.destroy()


def test_the_environment_file_is_the_selected_environments(
    infra_copy: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = infra_copy.parent
    monkeypatch.setenv("TF_WORKSPACE", "ci")
    applied_local_environment(infra_copy, scratch)

    outputs, env_file = configure(repo, "local")

    assert outputs["environment"] == "ci"
    assert env_file == repo / "build" / "infra" / "ci" / "platform.env"
    assert "PLATFORM_ENVIRONMENT=ci\n" in env_file.read_text()
    assert not (repo / "build" / "infra" / "local" / "platform.env").exists()


def test_a_location_gone_since_apply_is_named_and_nothing_is_written(
    infra_copy: Path, scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = infra_copy.parent
    applied_local_environment(infra_copy, scratch)
    remote = scratch / "dvc-remote"
    shutil.rmtree(remote)

    assert main(["--repo", str(repo)]) == 1
    assert (
        f"configure: error: output dvc_remote_url of infra/envs/local is {remote}, which does "
        "not exist: apply infra/envs/local again, which makes it anew "
        "(./pants run infra:configure -- --env local --apply)."
    ) in capsys.readouterr().err
    assert _written(repo) == {}


def test_apply_makes_a_location_gone_since_apply_again(
    infra_copy: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = infra_copy.parent
    workspace = applied_local_environment(infra_copy, scratch)
    for name, value in workspace.variables.items():
        monkeypatch.setenv(f"TF_VAR_{name}", str(value))
    remote = scratch / "dvc-remote"
    shutil.rmtree(remote)

    assert main(["--repo", str(repo), "--apply"]) == 0

    assert remote.is_dir()
    assert not workspace.plan_has_changes()
    workspace.destroy()  # still this state's own: destroy removes it with the rest
    assert list(scratch.iterdir()) == []


def _written(repo: Path) -> dict[str, str]:
    files = [repo / ".dvc" / "config.local", repo / "build" / "infra" / "local" / "platform.env"]
    return {str(f.relative_to(repo)): f.read_text() for f in files if f.is_file()}


@given(
    st.sampled_from(REQUIRED_OUTPUTS),
    st.one_of(
        st.builds(
            "{}{}{}".format,
            st.text(max_size=5),
            st.sampled_from(["\n", "\r", "\x00", "\t", "\x1b", "\u2028"]),
            st.text(max_size=5),
        ),
        st.sampled_from(["", " ", "  "]),
        st.none(),
        st.integers(),
        st.lists(st.text(), max_size=2),
    ),
    st.booleans(),
)
def test_a_bad_output_is_named_and_the_previous_files_stay(
    name: str, value: object, drop: bool
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch)
        write_configuration(repo, "local", GOOD_OUTPUTS)
        before = _written(repo)
        outputs: dict[str, object] = {
            k: v for k, v in GOOD_OUTPUTS.items() if not (drop and k == name)
        }
        if not drop:
            outputs[name] = value
        with pytest.raises(ConfigureError, match=name):
            write_configuration(repo, "local", outputs)
        assert _written(repo) == before
        assert sorted(p.name for p in (repo / ".dvc").iterdir()) == ["config.local"]


# What str.isprintable() accepts, but for the space: every category it refuses is left out.
PRINTABLE = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"))


@given(st.text(st.one_of(st.just(" "), PRINTABLE)))
def test_any_one_line_url_reaches_the_shell_as_it_is(url: str) -> None:
    assume(url.strip())
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch)
        write_configuration(repo, "local", {**GOOD_OUTPUTS, "landing_url": url})
        env_file = repo / "build" / "infra" / "local" / "platform.env"
        shell = subprocess.run(
            ["bash", "-c", 'set -a; . "$1"; printf %s "$PLATFORM_LANDING_URL"', "-", env_file],
            capture_output=True,
            text=True,
            check=True,
        )
        assert shell.stdout == url


@given(st.text(st.one_of(st.just(" "), PRINTABLE)))
# DVC's config reader (configobj) takes an unquoted '#' for a comment, a ',' for a list and drops
# the spaces around a value: each was a remote elsewhere than the one applied.
@example("/home/me/dvc#2")
@example("/home/me/remotes,dvc")
@example("/home/me/dvc-remote ")
@example("/home/me/\"dvc\" 'remote'")
def test_any_one_line_remote_url_reaches_dvc_as_it_is(url: str) -> None:
    from dvc.config import Config

    assume(url.strip())
    assume('"""' not in url or "'''" not in url)  # the one value DVC's config cannot hold
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch)
        write_configuration(repo, "local", {**GOOD_OUTPUTS, "dvc_remote_url": url})
        config = Config.load_file(str(repo / ".dvc" / "config.local"))
        assert config["core"]["remote"] == REMOTE
        assert config["remote"][REMOTE]["url"] == url


def test_a_remote_url_dvc_cannot_hold_is_named_and_nothing_is_written() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch)
        url = "/srv/a'''b\"\"\"c"
        with pytest.raises(ConfigureError, match="dvc_remote_url"):
            write_configuration(repo, "local", {**GOOD_OUTPUTS, "dvc_remote_url": url})
        assert not (repo / ".dvc").exists()
        assert not (repo / "build").exists()


def test_an_unknown_environment_lists_the_known_ones(infra_copy: Path) -> None:
    with pytest.raises(
        ConfigureError, match="no environment '../aws' .* expected one of aws, local"
    ):
        configure(infra_copy.parent, "../aws")


def test_apply_of_the_aws_environment_is_refused_with_the_way_to_apply_it(
    infra_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It could not work: its init had no backend configuration, and dropped the admin's."""
    assert main(["--repo", str(infra_copy.parent), "--env", "aws", "--apply"]) == 1
    assert (
        "configure: error: --apply applies the local environment only: apply infra/envs/aws "
        "with terraform as infra/README.md says"
    ) in capsys.readouterr().err
    assert not (infra_copy / "envs" / "aws" / ".terraform").exists()


def test_a_repo_without_environments_is_named_as_not_the_repo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It was "no environment 'local' in <repo>/infra/envs: expected one of none", and a name
    # too long a traceback.
    assert main(["--repo", str(tmp_path)]) == 1
    assert (
        f"configure: error: {tmp_path} is not the platform repo: {tmp_path}/infra/envs does not "
        "exist (run from the repo root, or give it as --repo)"
    ) in capsys.readouterr().err
    with pytest.raises(
        ConfigureError, match="infra/envs cannot be looked up \\(File name too long"
    ):
        configure(name_too_long(tmp_path), "local")
    (tmp_path / "infra" / "envs").mkdir(parents=True)
    with pytest.raises(ConfigureError, match="no environment 'local' .*: expected one of none$"):
        configure(tmp_path, "local")


def test_a_missing_terraform_is_an_error_message_not_a_traceback(
    infra_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(infra_copy / "no-terraform-here"))
    monkeypatch.setenv(ENGINE_VARIABLE, "system")
    assert main(["--repo", str(infra_copy.parent)]) == 1
    assert "configure: error: TERRAFORM_ENGINE=system, but there is no `terraform` on PATH" in (
        capsys.readouterr().err
    )
