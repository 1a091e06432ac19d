"""The plain-Python parts: the stage graph and each task's command from dvc.yaml, a run's
parameters, the land window and the settings, including the errors bad settings and bad run
parameters give. The drift decision's tests are drift_test.py."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from airflow.exceptions import AirflowException, AirflowSkipException
from airflow.utils.xcom import XCOM_RETURN_KEY

from flight_orchestration import settings
from flight_orchestration.commands import (
    CommandError,
    StageCommand,
    run_params,
    run_params_file,
    write_params,
)
from flight_orchestration.pipeline import ArtifactOperator
from flight_orchestration.run_parameters import ARTIFACTS_KEY, WORKDIR_KEY
from flight_orchestration.stages import (
    PipelineError,
    artifact_groups,
    read_params,
    read_stage_graph,
    sinks,
    stage_graph,
)
from flight_orchestration.window import window_end
from storage.testing import name_too_long
from tests.orchestration.conftest import SANDBOX_ROOT


def test_the_stage_graph_of_the_repos_dvc_yaml() -> None:
    graph = {s.name: set(s.upstream) for s in read_stage_graph(SANDBOX_ROOT)}
    assert graph == {
        "land": set(),
        "ingest": {"land"},
        "features": {"ingest"},
        "train": {"features"},
        "evaluate": {"features", "train"},
        "online_store": {"ingest"},
    }
    assert sinks(read_stage_graph(SANDBOX_ROOT)) == ["evaluate", "online_store"]


def test_each_task_runs_its_stages_artifact_with_the_runs_parameters(tmp_path: Path) -> None:
    stages = {s.name: s.command for s in read_stage_graph(SANDBOX_ROOT)}
    assert str(stages["train"].artifact) == "services.train/train.pex"
    params = run_params(
        read_params(SANDBOX_ROOT),
        {"params": {"train.torch.epochs": 1}},
        dt.datetime(2013, 12, 3, tzinfo=dt.UTC),
    )
    assert params["train"]["torch"]["epochs"] == 1
    assert params["land"]["end"] == "2013-12-03"
    artifacts, params_file = tmp_path / "artifacts", tmp_path / "run" / "params.yaml"
    land = stages["land"].argv(artifacts, params, params_file)
    assert land == [
        str(artifacts / "services.ingest/ingest.pex/__main__.py"),
        "land", "--start", "2013-08-01", "--end", "2013-12-03", "--landing", "data/landing",
    ]  # fmt: skip
    train = stages["train"].argv(artifacts, params, params_file)
    assert train[-2:] == ["--params", str(params_file)]
    # The params file a run writes is its own, never the checkout's params.yaml.
    assert run_params_file(tmp_path, "manual__2013-12-03T00:00:00+00:00").parent.name == (
        "manual__2013-12-03T00_00_00_00_00-7d0124d0d2e8"
    )


def test_bad_run_parameters_name_what_is_wrong() -> None:
    defaults = read_params(SANDBOX_ROOT)
    day = dt.datetime(2013, 1, 2, tzinfo=dt.UTC)
    with pytest.raises(CommandError, match="overrides train.torch.epoch, which params.yaml"):
        run_params(defaults, {"params": {"train.torch.epoch": 1}}, day)
    # Before, a group params.yaml lacks was named as "params has no <group>", not as the conf's.
    with pytest.raises(CommandError, match="overrides trian.seed, which params.yaml does not"):
        run_params(defaults, {"params": {"trian.seed": 1}}, day)
    for malformed in ("train..seed", ".seed", "train.", ""):
        with pytest.raises(CommandError, match=f"overrides '{malformed}', which is no dotted"):
            run_params(defaults, {"params": {malformed: 1}}, day)
    with pytest.raises(CommandError, match="must map dotted parameter names"):
        run_params(defaults, {"params": ["train.seed=1"]}, day)
    # Before, a mistyped key ran the defaults with exit 0.
    with pytest.raises(CommandError, match="run conf has unknown key\\(s\\) 'param': it takes"):
        run_params(defaults, {"param": {"train.seed": 1}, "reason": "drift"}, day)
    assert run_params(defaults, {"params": {}, "reason": "drift"}, day)["train"]["seed"] == 0
    # The more dotted key wins whatever the order, as the train service reads them.
    epochs = defaults["train"]["torch"]["epochs"]
    group = {**defaults["train"]["torch"], "epochs": epochs + 1}
    for conf in ({"train.torch.epochs": epochs + 2, "train.torch": group},
                 {"train.torch": group, "train.torch.epochs": epochs + 2}):  # fmt: skip
        assert run_params(defaults, {"params": conf}, day)["train"]["torch"]["epochs"] == epochs + 2
    # A group without one of its keys: a later stage's argument would be missing.
    with pytest.raises(CommandError, match="overrides a group without features.split.train_end"):
        run_params(defaults, {"params": {"features": {"window_days": 7}}}, day)
    # Only an absent 'params' means no overrides; before, a falsy non-mapping ran the defaults.
    falsy_values: list[object] = [[], "", 0, False, None]
    for falsy in falsy_values:
        with pytest.raises(CommandError, match="must map dotted parameter names"):
            run_params(defaults, {"params": falsy}, day)
    # Before, a run's threshold reached the serving statistics but not the drift DAG's check.
    for sets_monitor in ({"monitor.psi_threshold": 0.5}, {"monitor": {"psi_threshold": 0.5}}):
        (key,) = sets_monitor
        with pytest.raises(CommandError, match=f"sets {key}, which a run cannot: the drift"):
            run_params(defaults, {"params": sets_monitor}, day)
    for sets_end in ({"land.end": "2013-03-01"}, {"land": {"start": "2013-01-01", "end": "x"}}):
        with pytest.raises(CommandError, match="sets land.end, which is the run's logical date"):
            run_params(defaults, {"params": sets_end}, day)
    # The land artifact takes YYYY-MM-DD only: fromisoformat's other forms are refused here too.
    for start in ("2013-13-01", "20130101", "2013-W01-1", "2013-1-1", "2013-01-01T00:00"):
        with pytest.raises(CommandError, match=f"land.start '{start}' is not a date"):
            run_params(defaults, {"params": {"land.start": start}}, day)
    land = StageCommand.parse("land", "dist/a.pex/__main__.py land --start ${land.begin}")
    with pytest.raises(CommandError, match="params has no land.begin"):
        land.argv(Path("/artifacts"), defaults, Path("params.yaml"))


def test_a_runs_params_file_in_the_checkout_is_ignored_by_git(tmp_path: Path) -> None:
    # The working directory defaults to the checkout; before, each run left `?? runs/` there.
    assert settings.workdir(None) == SANDBOX_ROOT.resolve()
    shutil.copyfile(SANDBOX_ROOT / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    write_params(
        {"train": {"seed": 0}}, run_params_file(tmp_path, "manual__2013-12-03T00:00:00+00:00")
    )
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    assert status.stdout.splitlines() == ["?? .gitignore"]


def test_tasks_writing_the_runs_params_at_once_each_leave_it_whole(tmp_path: Path) -> None:
    # A run's tasks that run at once each write its params file before starting their artifact.
    params = {"group": {f"key_{i}": "x" * 100 for i in range(50)}}
    path = run_params_file(tmp_path, "manual__2013-12-03T00:00:00+00:00")

    def task() -> None:
        for _ in range(100):
            write_params(params, path)
            assert yaml.safe_load(path.read_text()) == params

    with ThreadPoolExecutor(max_workers=4) as pool:
        for done in [pool.submit(task) for _ in range(4)]:
            done.result()
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_stage_that_runs_no_artifact_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="must run a built artifact"):
        StageCommand.parse("land", "dist/ingest.pex land")
    # Before, unzip was dropped, and with it the order through it: ingest ran beside land.
    stages = {
        "land": {"cmd": "dist/i.pex/__main__.py land", "outs": ["data/landing.zip"]},
        "unzip": {
            "cmd": "unzip -o data/landing.zip -d data/landing",
            "deps": ["data/landing.zip"],
            "outs": ["data/landing"],
        },
        "ingest": {"cmd": "dist/i.pex/__main__.py curate", "deps": ["data/landing"]},
        "report": {"cmd": ["dist/i.pex/__main__.py report", "dist/i.pex/__main__.py mail"]},
        "note": {"cmd": 7},
        "empty": {"outs": ["x"]},
    }
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    with pytest.raises(PipelineError) as refused:
        read_stage_graph(tmp_path)
    assert str(refused.value) == (
        "every dvc.yaml stage must run a service's built artifact, as its task does: "
        "stage unzip: cmd must run a built artifact, dist/<artifact>/__main__.py, not 'unzip'; "
        "stage report: cmd is a list of commands; a stage's task runs one, "
        "dist/<artifact>/__main__.py <args>: give each command its own stage; "
        "stage note: cmd must be a command, dist/<artifact>/__main__.py <args>, not 7; "
        "stage empty: no cmd; it must run dist/<artifact>/__main__.py <args>"
    )
    # Before, an unclosed quote escaped as shlex's bare ValueError, naming no stage.
    unclosed = {"stages": {"land": {"cmd": 'dist/i.pex/__main__.py land "2013'}}}
    with pytest.raises(PipelineError, match="stage land: cmd .* is no command line \\(No closing"):
        stage_graph(yaml.safe_dump(unclosed))
    # DVC's list form is refused even when each command runs an artifact.
    one = {"stages": {"land": {"cmd": ["dist/i.pex/__main__.py land"]}}}
    with pytest.raises(PipelineError, match="stage land: cmd is a list of commands"):
        stage_graph(yaml.safe_dump(one))


def test_a_service_s_groups_are_those_of_every_stage_that_runs_it() -> None:
    """What a SageMaker training job gets as hyperparameters, having no params file."""
    stages = {
        "fit": {"cmd": "dist/t.pex/__main__.py fit", "params": ["train.epochs", "train"]},
        "land": {"cmd": "dist/i.pex/__main__.py land", "params": ["land"]},
        "score": {"cmd": "dist/t.pex/__main__.py score", "params": [{"params.yaml": ["gate"]}]},
        "plain": {"cmd": "dist/t.pex/__main__.py plain"},
    }
    graph = stage_graph(yaml.safe_dump({"stages": stages}))
    assert artifact_groups(graph, PurePosixPath("t.pex")) == ("train", "gate")
    assert artifact_groups(graph, PurePosixPath("i.pex")) == ("land",)
    assert artifact_groups(graph, PurePosixPath("none.pex")) == ()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("train", "params must be a list"),
        ([{"other.yaml": ["x"]}], "params from other.yaml: a run passes params.yaml's groups only"),
        ([7], r"params \[7\] are not params.yaml keys"),
        ([".epochs"], r"params \['.epochs'\] are not params.yaml keys"),
    ],
)
def test_params_a_run_cannot_pass_are_named(params: object, message: str) -> None:
    stages = {"fit": {"cmd": "dist/t.pex/__main__.py fit", "params": params}}
    with pytest.raises(PipelineError, match=f"stage fit: {message}"):
        stage_graph(yaml.safe_dump({"stages": stages}))


def test_a_cycle_or_no_stages_is_an_error(tmp_path: Path) -> None:
    cyclic = {
        "stages": {
            "a": {"cmd": "dist/a.pex/__main__.py", "deps": ["b.out"], "outs": ["a.out"]},
            "b": {"cmd": "dist/b.pex/__main__.py", "deps": ["a.out"], "outs": ["b.out"]},
        }
    }
    with pytest.raises(PipelineError, match="cycle"):
        stage_graph(yaml.safe_dump(cyclic))
    with pytest.raises(PipelineError, match="no stages"):
        stage_graph("plots: []\n")
    with pytest.raises(PipelineError, match="no dvc.yaml at"):
        read_stage_graph(tmp_path)
    with pytest.raises(PipelineError, match="dvc.yaml is not YAML"):
        stage_graph("stages: [unclosed\n")
    for not_a_mapping in ("- a list\n", "stages:\n  land: dist/a.pex/__main__.py\n"):
        with pytest.raises(PipelineError, match="no stages|stage land is not a mapping"):
            stage_graph(not_a_mapping)
    (tmp_path / "params.yaml").write_text("land: {start: [unclosed\n")
    with pytest.raises(PipelineError, match="params.yaml is not YAML"):
        read_params(tmp_path)


def test_the_window_end_is_the_logical_date_clamped_into_2013() -> None:
    start = dt.date(2013, 1, 1)
    assert window_end(dt.date(2013, 1, 14), start) == dt.date(2013, 1, 14)
    assert window_end(dt.date(2026, 11, 24), start) == dt.date(2013, 12, 31)
    assert window_end(dt.date(2012, 5, 1), start) == start
    assert window_end(dt.date(2013, 3, 1), dt.date(2013, 8, 1)) == dt.date(2013, 8, 1)


def test_missing_or_wrong_directory_settings_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(
        settings.SettingError, match="flight_delay_artifacts: .*nowhere is not a directory"
    ):
        settings.artifacts(str(tmp_path / "nowhere"))
    with pytest.raises(settings.SettingError, match="flight_delay_workdir: .* is not a directory"):
        settings.workdir(str(tmp_path / "nowhere"))
    assert settings.workdir(str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(
        settings.SettingError, match="not a checkout of the platform repo .*dvc.yaml"
    ):
        settings.check_repo(tmp_path, "Airflow Variable flight_delay_repo")
    assert settings.check_repo(SANDBOX_ROOT, "x") == SANDBOX_ROOT.resolve()


@pytest.mark.parametrize("value", ["", " ", "\n"])
def test_an_empty_directory_setting_is_named_not_read_as_unset(value: str) -> None:
    """A Variable set to nothing (`AIRFLOW_VAR_FLIGHT_DELAY_WORKDIR=$UNSET_SHELL_VARIABLE`, a
    value cleared in the UI) ran the run in the DAG file's checkout, its data/ and model store,
    as if it were not set."""
    for read, variable in ((settings.artifacts, "flight_delay_artifacts"),
                           (settings.workdir, "flight_delay_workdir")):  # fmt: skip
        with pytest.raises(
            settings.SettingError,
            match=f"^Airflow Variable {variable} is set but empty: set it to a directory, "
            "or delete it",
        ):
            read(value)


@pytest.mark.parametrize(
    ("variable", "read", "expected"),
    [
        (settings.RUNNER_VARIABLE, settings.runner, "local or ecs, or unset it for local"),
        (settings.RUN_TIMEOUT_VARIABLE, settings.run_timeout, "a number of hours, or unset it"),
        (settings.REPO_VARIABLE, settings.parse_time_repo, "a checkout of the platform repo"),
        (settings.ECS_VARIABLE, settings.ecs_settings, "the ecs runner's JSON settings"),
    ],
)
def test_an_empty_parse_time_setting_is_named_not_read_as_unset(
    monkeypatch: pytest.MonkeyPatch, variable: str, read: Callable[[], object], expected: str
) -> None:
    """`AIRFLOW_VAR_FLIGHT_DELAY_RUNNER=$RUNNER` with RUNNER unset ran every stage on the
    worker instead of on ECS, an empty repo took the DAG file's checkout, an empty timeout 24 h;
    empty ECS settings were said to be not set, which sent one looking for a missing export."""
    name = settings.environment_variable(variable)
    for value in ("", " "):
        monkeypatch.setenv(name, value)
        with pytest.raises(
            settings.SettingError, match=f"^{name} is set but empty: set it to {expected}"
        ):
            read()


def test_a_directory_setting_the_filesystem_cannot_look_up_names_the_variable(
    tmp_path: Path,
) -> None:
    # pathlib raises rather than answers here: the DAG file failed to parse in OSError's traceback.
    unreachable = str(name_too_long(tmp_path))
    for read, variable in ((settings.artifacts, "flight_delay_artifacts"),
                           (settings.workdir, "flight_delay_workdir")):  # fmt: skip
        with pytest.raises(
            settings.SettingError, match=f"{variable}: .* cannot be looked up \\(File name too long"
        ):
            read(unreachable)
    with pytest.raises(settings.SettingError, match="flight_delay_repo: .* cannot be looked up"):
        settings.check_repo(Path(unreachable), "Airflow Variable flight_delay_repo")


@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan", "inf", None])
def test_a_bad_threshold_says_so(value: str | None) -> None:
    with pytest.raises(settings.SettingError, match="PSI threshold"):
        settings.parse_threshold(value, "Airflow Variable flight_delay_psi_threshold")


@pytest.mark.parametrize("value", ["a day", "-1", "0", "nan", "inf", "673", "1e12"])
def test_a_bad_run_timeout_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    variable = settings.environment_variable(settings.RUN_TIMEOUT_VARIABLE)
    monkeypatch.setenv(variable, value)
    with pytest.raises(
        settings.SettingError, match=rf"^{variable}: number of hours '{value}' (is not|must be)"
    ):
        settings.run_timeout()


def test_the_threshold_comes_from_params_yaml(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("monitor:\n  psi_threshold: 0.35\n")
    assert settings.params_threshold(tmp_path) == 0.35
    (tmp_path / "params.yaml").write_text("monitor: {}\n")
    with pytest.raises(settings.SettingError, match="no monitor.psi_threshold"):
        settings.params_threshold(tmp_path)


@pytest.mark.parametrize(
    ("options", "outcome"),
    [({}, AirflowException), ({"skip_on_exit_code": 99}, AirflowSkipException)],
)
def test_a_stage_whose_artifact_exits_99_fails_unless_its_task_skips_on_it(
    tmp_path: Path,
    options: dict[str, Any],
    outcome: type[AirflowException],
) -> None:
    """BashOperator skips a task whose command exits 99 unless told otherwise: a stage's failure
    passed as skipped, and the run succeeded. Only the Bento task skips, on its own status."""
    artifact = tmp_path / "dist" / "a.pex" / "__main__.py"
    artifact.parent.mkdir(parents=True)
    artifact.write_text("#!/bin/sh\nexit 99\n")
    artifact.chmod(0o755)
    task = ArtifactOperator(
        task_id="land",
        command=StageCommand.parse("land", "dist/a.pex/__main__.py land"),
        **options,
    )
    params = run_params(read_params(SANDBOX_ROOT), {}, dt.datetime(2013, 1, 2, tzinfo=dt.UTC))
    # What the run's first task fixed.
    fixed = {
        XCOM_RETURN_KEY: params,
        WORKDIR_KEY: str(tmp_path),
        ARTIFACTS_KEY: str(artifact.parents[1]),
    }
    context = {
        "ti": SimpleNamespace(xcom_pull=lambda task_ids, key=XCOM_RETURN_KEY: fixed[key]),
        "run_id": "manual__2013-01-02",
    }
    with pytest.raises(AirflowException) as raised:
        task.execute(context)
    assert raised.type is outcome
