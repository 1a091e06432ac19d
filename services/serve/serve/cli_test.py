"""The serve artifact's command line, run as built (a runtime package of these tests), and its
choice of command in this process for any first argument: a command per job, each failing with a
message that names what is wrong, never a traceback. With no promoted model, `build`'s exit
status is the caller's to choose."""

import contextlib
import io
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopback.ports import free_port
from model_registry.store import ROLLED_BACK, Model
from serve.cli import COMMANDS, PORTS, UsageError, check_port, main
from storage.testing import name_too_long

ARTIFACT = "services.serve/serve.pex/__main__.py"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The artifact on this process's empty BentoML home (conftest.py)."""
    return subprocess.run(
        [ARTIFACT, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_refused(ran: subprocess.CompletedProcess[str], message: str) -> None:
    """`ran` exited 2 with `message` on stderr, no traceback and nothing on stdout."""
    assert ran.returncode == 2, ran.stderr
    assert message in ran.stderr
    assert "Traceback" not in ran.stderr
    assert ran.stdout == ""


@pytest.mark.parametrize(
    ("args", "named"),
    [((), "no command given"), (("predict",), "unknown command 'predict'")],
)
def test_a_missing_or_unknown_command_is_named_with_the_commands_there_are(
    args: tuple[str, ...], named: str
) -> None:
    ran = run(*args)
    assert ran.returncode == 2, ran.stderr
    # (Before it, PEX may warn about the test runner's variables.)
    assert (
        ran.stderr.splitlines()[-1]
        == f"serve: error: {named}; choose one of: serve, build, publish"
    )


@given(st.text().filter(lambda word: word not in {*COMMANDS, "-h", "--help"}))
def test_any_other_first_argument_is_refused_by_name_and_runs_nothing(word: str) -> None:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main([word, "--port", "3000"])
    assert status == 2
    assert stderr.getvalue() == (
        f"serve: error: unknown command {word!r}; choose one of: serve, build, publish\n"
    )


def test_help_lists_the_commands() -> None:
    ran = run("--help")
    assert ran.returncode == 0, ran.stderr
    assert "usage: serve {serve,build,publish} [ARGS]" in ran.stdout
    assert "build the Bento of the promoted model" in ran.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "no flight-delay model labelled stage=promoted"),
        (
            {"FLIGHT_DELAY_MODEL": "flight-delay:doesnotexist"},
            "FLIGHT_DELAY_MODEL='flight-delay:doesnotexist': no such model",
        ),
    ],
)
def test_serve_names_a_missing_or_bad_model_before_bentoml_starts(
    env: dict[str, str], named: str
) -> None:
    ran = run("serve", "--host", "127.0.0.1", "--port", str(free_port()), env=env)
    assert_refused(ran, f"serve serve: error: {named}")


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (None, "no such file"),
        ("a: [1, 2\n", "is not valid YAML: expected ',' or ']', but got '<stream end>' (line 2"),
        ("- workers: 2\n", "is not a mapping of BentoML's settings: it holds a list"),
        ("", "is not a mapping of BentoML's settings: it holds nothing"),
        ("workerz: 2\n", "is not a configuration BentoML accepts: Invalid configuration"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "build", "publish"])
def test_a_bad_bentoml_configuration_is_named_before_bentoml_reads_it(
    tmp_path: Path, command: str, content: str | None, named: str
) -> None:
    # BentoML reads it as the command first uses BentoML: a traceback, or an ImportError.
    config = tmp_path / "bentoml.yaml"
    if content is not None:
        config.write_text(content)
    args = ["--host", "127.0.0.1", "--port", str(free_port())] if command == "serve" else []
    ran = run(command, *args, env={"BENTOML_CONFIG": str(config)})
    assert_refused(ran, f"serve {command}: error: BENTOML_CONFIG={str(config)!r}")
    assert named in ran.stderr


@pytest.mark.parametrize("home", ["a file", "a name too long", "under a file"])
@pytest.mark.parametrize("command", ["serve", "build", "publish"])
def test_a_bentoml_home_no_store_can_be_at_is_named(
    tmp_path: Path, command: str, home: str
) -> None:
    # BentoML makes its home on first use, and failed in a traceback where it could not.
    (tmp_path / "file").write_text("not a store")
    path = {
        "a file": tmp_path / "file",
        "a name too long": name_too_long(tmp_path),
        "under a file": tmp_path / "file" / "bentoml",
    }[home]
    args = ["--host", "127.0.0.1", "--port", str(free_port())] if command == "serve" else []
    ran = run(command, *args, env={"BENTOML_HOME": str(path)})
    assert_refused(ran, f"serve {command}: error: BENTOML_HOME {str(path)!r}")
    assert (tmp_path / "file").read_text() == "not a store"


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ("missing.yaml", "BENTOML_CONFIG='missing.yaml': no such file"),
        ("bentoml.json", "BENTOML_CONFIG='bentoml.json': BentoML reads only a .yaml or .yml file"),
    ],
)
def test_a_bentoml_configuration_that_is_no_yaml_file_is_named(
    config: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENTOML_CONFIG", config)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main(["serve", "--port", "3000"])
    assert status == 2
    assert stderr.getvalue() == f"serve serve: error: {named}\n"


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--port", "99999"], {}, "--port '99999'"),
        (["--port=65536"], {}, "--port '65536'"),
        (["-p", "0"], {}, "-p '0'"),
        (["-p-1"], {}, "-p '-1'"),
        (["--port", "http"], {}, "--port 'http'"),
        (["--port"], {}, "--port ''"),
        # The last one counts, as for BentoML.
        (["--port", "3000", "--port", "99999"], {}, "--port '99999'"),
        ([], {"BENTOML_PORT": "99999"}, "BENTOML_PORT '99999'"),
        (["--host", "127.0.0.1"], {"BENTOML_PORT": "0"}, "BENTOML_PORT '0'"),
    ],
)
def test_serve_refuses_a_port_bentoml_would_not_bind_as_given(
    args: list[str], env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BentoML would bind 99999 as 34463 and 0 as any free port, and log the port it was given.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main(["serve", *args])
    assert status == 2
    assert stderr.getvalue() == (
        f"serve serve: error: {named} is not a port: expected a number from 1 to 65535\n"
    )


@given(
    st.integers(-(2**20), 2**20),
    # The last two: -p grouped after bentoml's -q, as click reads it.
    st.sampled_from(["--port {}", "--port={}", "-p {}", "-p{}", "-qp {}", "-qp{}"]),
)
def test_a_port_is_taken_in_any_spelling_and_refused_out_of_range(port: int, spelling: str) -> None:
    args = ["--host", "127.0.0.1", *spelling.format(port).split(" ")]
    if port in PORTS:
        check_port(args, environ={"BENTOML_PORT": "99999"})
    else:
        with pytest.raises(UsageError, match=f"'{port}' is not a port"):
            check_port(args, environ={})


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"FLIGHT_DELAY_SERVING_DATA": "s3://"},
            "FLIGHT_DELAY_SERVING_DATA 's3://' names no bucket or host",
        ),
        (
            {"FLIGHT_DELAY_SERVING_DATA": "s3://b/{version}"},
            "FLIGHT_DELAY_SERVING_DATA='s3://b/{version}': the only placeholder a location may "
            "hold is {model_version}",
        ),
        (
            {"FLIGHT_DELAY_HORIZON_ALLOWANCE_HOURS": "a day"},
            "FLIGHT_DELAY_HORIZON_ALLOWANCE_HOURS='a day' is not a number of hours",
        ),
    ],
)
def test_serve_names_a_bad_setting_before_bentoml_starts(
    env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Else read only inside `bentoml serve`: BentoML's traceback, or workers never ready.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main(["serve", "--port", "3000"])
    assert status == 2
    assert stderr.getvalue() == f"serve serve: error: {named}\n"


def test_serve_names_serving_data_the_filesystem_cannot_look_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers' /readyz said failed with a bare OSError(36, 'File name too long').
    where = str(name_too_long(tmp_path))
    monkeypatch.setenv("FLIGHT_DELAY_SERVING_DATA", where)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main(["serve", "--port", "3000"])
    assert status == 2
    assert stderr.getvalue() == (
        f"serve serve: error: FLIGHT_DELAY_SERVING_DATA {where!r} cannot be looked up "
        "(File name too long)\n"
    )


@pytest.mark.parametrize("args", [["--working-dir", "services/serve"], ["--working-dir=."]])
def test_serve_refuses_a_working_directory_for_the_code_it_runs(args: list[str]) -> None:
    # BentoML imports the service from its working directory: another would serve other code.
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main(["serve", "--port", "3000", *args])
    assert status == 2
    assert stderr.getvalue().startswith(
        "serve serve: error: --working-dir is not an option here: the server runs this "
        "artifact's code"
    )


@pytest.mark.parametrize(
    ("args", "status"),
    [((), 1), (("--no-model-status", "0"), 0), (("--no-model-status", "99"), 99)],
)
def test_with_no_promoted_model_build_builds_nothing_and_exits_with_the_callers_status(
    args: tuple[str, ...], status: int
) -> None:
    built = run("build", *args)
    assert built.returncode == status, built.stderr
    assert built.stdout == ""
    assert "serve build: no flight-delay model labelled stage=promoted" in built.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (
            ("--version", "bad version!"),
            "argument --version: 'bad version!' is not a Bento version",
        ),
        (("--version", "Nightly"), "argument --version: 'Nightly' is not a Bento version"),
        (("--version", "v" * 64), f"argument --version: '{'v' * 64}' is not a Bento version"),
        (("--no-model-status", "256"), "argument --no-model-status: '256' is not an exit status"),
        (("--no-model-status", "-1"), "argument --no-model-status: '-1' is not an exit status"),
        (("--no-model-status", "skip"), "argument --no-model-status: 'skip' is not an exit status"),
    ],
)
def test_build_refuses_a_bad_option_by_name_before_it_builds(
    args: tuple[str, ...], named: str
) -> None:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as exited:
        main(["build", *args])
    assert exited.value.code == 2
    assert f"serve build: error: {named}" in stderr.getvalue()


def test_build_with_a_pinned_model_that_is_not_in_the_store_is_an_error_not_a_traceback() -> None:
    built = run("build", env={"FLIGHT_DELAY_MODEL": "flight-delay:doesnotexist"})
    assert_refused(
        built, "serve build: error: FLIGHT_DELAY_MODEL='flight-delay:doesnotexist': no such model"
    )


@pytest.mark.parametrize(
    ("tag", "named"),
    [
        ("iris:1", "--model 'iris:1': expected flight-delay:<version>"),
        ("flight-delay:zzz", "--model 'flight-delay:zzz': no such model in the BentoML store"),
    ],
)
def test_publish_names_a_model_the_store_does_not_hold_and_writes_nothing(
    tmp_path: Path, tag: str, named: str
) -> None:
    target = tmp_path / "serving" / "{model_version}"
    ran = run("publish", "--model", tag, "--to", str(target), "--data", str(tmp_path))
    assert_refused(ran, f"serve publish: error: {named}")
    assert not (tmp_path / "serving").exists()


@pytest.mark.parametrize("command", [("serve", "--port", "3000"), ("build",)])
def test_a_rollback_record_that_is_not_json_is_named(
    model: Model, command: tuple[str, ...]
) -> None:
    record = Path(model.path) / ROLLED_BACK
    record.write_text("{not json")
    assert_refused(run(*command), f"serve {command[0]}: error: {record} is not JSON")


def test_build_refuses_a_version_the_store_holds_before_it_builds(model: Model) -> None:
    built = run("build", "--version", "twice")
    assert built.returncode == 0, built.stderr
    assert built.stdout == "flight_delay_service:twice\n"
    again = run("build", "--version", "twice")
    assert_refused(
        again,
        "serve build: error: --version: the Bento flight_delay_service:twice exists already in ",
    )
