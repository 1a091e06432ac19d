"""The repo's DVC on a small checkout, with the real DVC in this process: a command that runs
stages checks the artifacts first, wherever DVC's global options put the command word, and does
not start DVC when one is stale; experiments DVC would run outside the workspace (without the
PEXes) are refused; other commands go straight to DVC; a no-op repro runs no stage; the lock
check reads DVC's status of an artifact rebuilt after the last run."""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import chain
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopback.processes import inherited_pythonpath
from tools.dvc_cli import main, stage_running_root
from tools.fake_checkout import CODE, WHEELS, make_checkout, make_pex


@pytest.fixture
def dvc_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(repo)
    assert main(["init", "--no-scm", "-q"]) == 0
    return repo


def runs(repo: Path) -> list[str]:
    """The stage runs the fake PEX logged."""
    log = repo / "runs.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize(
    ("argv", "runs_stages"),
    [
        (["repro"], True),
        (["-q", "repro", "train"], True),
        (["exp", "run", "-S", "train.torch.epochs=1"], True),
        # Before, the long name of `exp` ran stale artifacts unchecked.
        (["experiments", "run"], True),
        # Before, a valued global option's value was taken for the command word.
        (["--cprofile-dump", "/tmp/p", "repro"], True),
        (["--viztracer-depth", "3", "-q", "exp", "run"], True),
        # Before, `stage add --run` ran its new stage on the artifacts unchecked.
        (["stage", "add", "-n", "x", "--run", "-d", "dist/a.pex", "echo"], True),
        (["stage", "add", "-n", "x", "-d", "dist/a.pex", "echo"], False),
        # Refused before any check (test_experiments_outside_the_workspace_are_refused).
        (["queue", "start", "-j", "2"], False),
        (["repro", "--no-such-option"], False),  # DVC refuses it and runs nothing
        (["--help"], False),
        (["queue", "status"], False),
        (["experiments", "show"], False),
        (["status"], False),
        (["exp", "show"], False),
        (["push"], False),
        (["metrics", "show"], False),
        ([], False),
    ],
)
def test_only_commands_that_run_stages_are_checked(
    dvc_repo: Path, argv: list[str], runs_stages: bool
) -> None:
    found = stage_running_root(argv, dvc_repo / "services")
    assert found == (dvc_repo.resolve() if runs_stages else None)


def test_the_root_follows_cd_and_is_none_outside_a_dvc_repo(
    dvc_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    assert stage_running_root(["--cd", str(dvc_repo), "repro"], outside) == dvc_repo.resolve()
    assert stage_running_root([f"--cd={dvc_repo}", "repro"], outside) == dvc_repo.resolve()
    # DVC refuses `--cd` after the command ("unrecognized arguments"), and runs nothing.
    assert stage_running_root(["repro", "--cd", str(dvc_repo)], outside) is None
    assert stage_running_root(["repro"], outside) is None


# DVC's global options (`dvc --help -v`: its own, and its debugging options), before the command.
FLAGS = [
    "--wait-for-lock",
    "--cprofile",
    "--yappi",
    "--yappi-separate-threads",
    "--viztracer",
    "--viztracer-async",
    "--pdb",
    "--instrument",
    "--instrument-open",
    "--show-stack",
    "--ss",
]
VALUED = {
    "--cprofile-dump": st.sampled_from(["/tmp/profile", "repro", "run", "exp", "-"]),
    "--viztracer-depth": st.integers(0, 99).map(str),
    "--cd": st.sampled_from([".", "services", "libs/storage", "services/../libs"]),
}  # fmt: skip
GLOBAL_OPTION = st.one_of(
    st.sampled_from(FLAGS).map(lambda flag: [flag]),
    st.sampled_from(sorted(VALUED)).flatmap(
        lambda option: VALUED[option].flatmap(
            lambda value: st.sampled_from([[option, value], [f"{option}={value}"]])
        )
    ),
)
# -q and -v are exclusive (DVC refuses both): one of them, repeated or not.
LOG_LEVEL = st.sampled_from(["-q", "-v", "--quiet", "--verbose", "-qq", "-vv"]).flatmap(
    lambda flag: st.lists(st.just(flag), max_size=2)
)
STAGE_RUNNING = st.sampled_from(
    [["repro"], ["repro", "land"], ["exp", "run"], ["experiments", "run", "-S", "a=1"]]
)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout DVC would take for a repo (dvc.yaml beside .dvc), for many examples."""
    root = tmp_path_factory.mktemp("checkout")
    make_checkout(root)
    (root / ".dvc").mkdir()
    return root


@given(
    options=st.lists(GLOBAL_OPTION, max_size=4),
    log_level=LOG_LEVEL,
    position=st.integers(0, 4),
    command=STAGE_RUNNING,
)
def test_global_options_before_the_command_never_skip_the_check(
    checkout: Path,
    options: list[list[str]],
    log_level: list[str],
    position: int,
    command: list[str],
) -> None:
    # Before, `--cprofile-dump /tmp/p repro` read /tmp/p as the command and ran stale artifacts.
    before, after = chain.from_iterable(options[:position]), chain.from_iterable(options[position:])
    argv = [*before, *log_level, *after, *command]
    assert stage_running_root(argv, checkout) == checkout.resolve(), argv


@pytest.mark.parametrize(
    "options", [["--cprofile-dump", "profile"], ["--viztracer-depth", "3"], ["--cd", "."]]
)
def test_a_stale_artifact_stops_a_repro_after_a_valued_global_option(
    dvc_repo: Path, options: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    (dvc_repo / "libs/storage/storage/atomic.py").write_text("ATOMIC = False\n")
    # Before, DVC ran the stage on the stale PEX.
    assert main([*options, "repro"]) == 1
    assert "atomic.py changed since it was built" in capfd.readouterr().err
    assert runs(dvc_repo) == []


def test_a_stale_artifact_stops_a_stage_added_with_run(
    dvc_repo: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (dvc_repo / "libs/storage/storage/atomic.py").write_text("ATOMIC = False\n")
    # Before, DVC ran the new stage on the stale PEX and wrote its hash to dvc.lock.
    argv = ["stage", "add", "-n", "again", "-d", "dist/services.ingest/ingest.pex", "--run"]
    assert main([*argv, "-o", "data/again", "dist/services.ingest/ingest.pex/__main__.py"]) == 1
    assert "atomic.py changed since it was built" in capfd.readouterr().err
    assert runs(dvc_repo) == []
    assert "again" not in (dvc_repo / "dvc.yaml").read_text()


@pytest.mark.parametrize(
    "argv",
    [
        ["exp", "run", "--temp"],
        ["experiments", "run", "--queue", "-S", "train.torch.epochs=1"],
        ["-q", "exp", "run", "--run-all"],
        ["--cprofile-dump", "profile", "exp", "run", "--temp"],
        ["queue", "start"],
        ["queue", "start", "-j", "2"],
    ],
)
def test_experiments_outside_the_workspace_are_refused(
    dvc_repo: Path, argv: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    # Before, the check passed ("up to date") and DVC ran the experiment in a copy of the git
    # checkout, without dist/'s PEXes: every stage failed on a missing PEX.
    assert main(argv) == 1
    err = capfd.readouterr().err
    assert err.startswith("artifacts: `dvc ")
    assert "temporary copy of the git checkout, which has none of the services' PEXes" in err
    assert "run `dvc exp run` in the workspace instead" in err
    assert "up to date" not in err
    assert runs(dvc_repo) == []


def test_a_fresh_checkout_reproduces_then_a_no_op_runs_no_stage(
    dvc_repo: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["repro"]) == 0
    assert runs(dvc_repo) == ["land"]
    assert (dvc_repo / "data/landing/day.csv").is_file()
    assert "artifacts: 1 up to date (services/ingest:ingest)" in capfd.readouterr().err
    assert main(["repro"]) == 0
    assert runs(dvc_repo) == ["land"]
    assert "Running stage" not in "".join(capfd.readouterr())


def test_a_stale_artifact_stops_the_repro_before_any_stage(
    dvc_repo: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (dvc_repo / "libs/storage/storage/atomic.py").write_text("ATOMIC = False\n")
    assert main(["repro"]) == 1
    err = capfd.readouterr().err
    assert "libs/storage/storage/atomic.py changed since it was built" in err
    assert "run `./pants package services/ingest:ingest`" in err
    assert runs(dvc_repo) == []
    assert not (dvc_repo / "dvc.lock").exists()
    # Commands that run nothing are DVC's alone: status reports the stage that never ran.
    assert main(["status"]) == 0
    assert "land" in capfd.readouterr().out


def locked(repo: Path) -> subprocess.CompletedProcess[str]:
    """.ci/run's lock check: the repo's DVC's `status --json` piped to `artifacts.py locked`, each
    in a process of its own."""
    env = {**os.environ, "PYTHONPATH": inherited_pythonpath()}
    status = subprocess.run(
        [sys.executable, "-m", "tools.dvc_cli", "status", "--json"],
        cwd=repo, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "tools.artifacts", "locked", "--repo", str(repo)],
        input=status.stdout, env=env, capture_output=True, text=True,
    )  # fmt: skip


def test_the_lock_check_names_an_artifact_rebuilt_since_the_last_run(dvc_repo: Path) -> None:
    assert main(["repro"]) == 0
    assert locked(dvc_repo).returncode == 0
    # The code changes and its artifact is rebuilt, but the pipeline does not run again.
    code = {**CODE, "ingest/cli.py": "print('land, changed')\n"}
    (dvc_repo / "services/ingest/ingest/cli.py").write_text(code["ingest/cli.py"])
    make_pex(dvc_repo / "dist/services.ingest/ingest.pex", code, WHEELS)
    stale = locked(dvc_repo)
    assert stale.returncode == 1
    assert stale.stderr == (
        "artifacts: dvc.lock does not record dist/services.ingest/ingest.pex as this checkout "
        "builds it (modified for stage land): run the pipeline (`./pants run //:main`) and "
        "commit the dvc.lock it writes\n"
    )
    assert main(["repro"]) == 0
    assert locked(dvc_repo).returncode == 0
