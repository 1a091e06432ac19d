"""Command line of the serve service, the one artifact every serve job runs.

serve [ARGS]   run the HTTP server (`bentoml serve`) on this artifact's code, passing ARGS on
               (--host, --port, ...; not --working-dir)
build [ARGS]   build the Bento of the promoted model and print its tag (`build --help`)
publish ARGS   publish a model's serving data where its serve tasks read it (`publish --help`)
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import yaml

import serve
from storage.inputs import directory_problem
from storage.outputs import OutputError, check_output

PROG = "serve"
SERVICE = "serve.service:FlightDelayService"
# Where this artifact's code is (its venv's site-packages).
CODE_DIR = Path(serve.__file__).parent.parent
WORKING_DIR = "--working-dir"
# BentoML's configuration file, which each worker reads.
BENTOML_CONFIG_ENV = "BENTOML_CONFIG"
# `bentoml serve`'s port: its option (long and short) and the variable it reads without one.
PORT_OPTIONS = ("--port", "-p")
PORT_ENV = "BENTOML_PORT"
# BentoML binds 0 as any free port and a port above 65535 as another one, and logs the number
# it was given: only a port it binds as given is where its log says.
PORTS = range(1, 65536)


class UsageError(ValueError):
    """A command's argument or setting is wrong; the message names it and why."""


def check_store_home(environ: Mapping[str, str] = os.environ) -> None:
    """UsageError, naming $BENTOML_HOME, unless it is unset, a directory, or a path where one
    can be made: BentoML makes it on first use and fails in a traceback when it cannot (a file
    there, a name too long)."""
    # Imported here: model_registry imports BentoML, which reads $BENTOML_CONFIG (checked first).
    from model_registry.store import HOME_ENV, store_home

    if not environ.get(HOME_ENV):
        return
    home = store_home(environ=environ)  # the path the commands will use
    if directory_problem(home) is None:
        return
    try:
        check_output(home, HOME_ENV)
    except OutputError as error:
        raise UsageError(str(error)) from None


def check_bentoml_config(environ: Mapping[str, str] = os.environ) -> None:
    """UsageError, naming $BENTOML_CONFIG, unless it is unset or a file BentoML reads: a YAML
    mapping its schema accepts. BentoML reads it the first time it is used, in every process
    of every command, and fails in a traceback (or an ImportError) on a bad one; this runs
    before anything here uses BentoML."""
    config = environ.get(BENTOML_CONFIG_ENV)
    if not config:
        return
    named = f"{BENTOML_CONFIG_ENV}={config!r}"
    if not config.endswith((".yaml", ".yml")):
        raise UsageError(f"{named}: BentoML reads only a .yaml or .yml file")
    try:
        with open(config, "rb") as stream:
            content = yaml.safe_load(stream)
    except FileNotFoundError:
        raise UsageError(f"{named}: no such file") from None
    except OSError as error:
        raise UsageError(f"{named}: cannot read it: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise UsageError(f"{named} is not valid YAML: {_yaml_problem(error)}") from None
    if not isinstance(content, dict):
        holds = "nothing" if content is None else f"a {type(content).__name__}"
        raise UsageError(f"{named} is not a mapping of BentoML's settings: it holds {holds}")
    # Its keys and values, by BentoML's own schema (imported here: BentoML reads the file as it
    # is first used, and a bad one must be named, not raised from an import).
    import bentoml
    from bentoml.exceptions import BentoMLConfigException

    try:
        bentoml.load_config(config)
    except BentoMLConfigException as error:
        # On one line, and short: BentoML's message on a wrong key goes on with all its settings.
        why = textwrap.shorten(str(error), 300, placeholder=" ...")
        raise UsageError(f"{named} is not a configuration BentoML accepts: {why}") from None


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What a YAML error says, on one line, with where it is."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(error).split())


def check_port(args: Sequence[str], environ: Mapping[str, str] = os.environ) -> None:
    """UsageError unless the port `bentoml serve` would take from `args` (the last --port N,
    --port=N, -p N or -pN, -p also grouped after other short flags, else $BENTOML_PORT) is in
    PORTS; none given is BentoML's default."""
    given = (PORT_ENV, environ[PORT_ENV]) if environ.get(PORT_ENV) else None
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            break
        if arg in PORT_OPTIONS:
            given = (arg, next(rest, ""))
        elif arg.startswith("--port="):
            given = ("--port", arg.removeprefix("--port="))
        elif arg.startswith("-") and not arg.startswith("--") and "p" in arg:
            # click reads grouped short options: -p3000, and -qp 3000 or -qp3000 (quiet too).
            attached = arg[arg.index("p") + 1 :]
            given = ("-p", attached if attached else next(rest, ""))
    if given is None:
        return
    named, value = given
    try:
        port = int(value)
    except ValueError:
        port = -1
    if port not in PORTS:
        raise UsageError(
            f"{named} {value!r} is not a port: expected a number from {PORTS.start} to "
            f"{PORTS.stop - 1}"
        )


def check_server_args(args: Sequence[str], environ: Mapping[str, str] = os.environ) -> None:
    """UsageError for an argument of `serve` that `bentoml serve` must not get: a working
    directory (it would serve other code) or a port it would not bind as given."""
    if any(arg == WORKING_DIR or arg.startswith(f"{WORKING_DIR}=") for arg in args):
        raise UsageError(
            f"{WORKING_DIR} is not an option here: the server runs this artifact's code, in "
            f"{CODE_DIR}"
        )
    check_port(args, environ)


def run_server(args: list[str]) -> int:
    # Imported here: BentoML reads its configuration as these first use it (main checks it).
    from model_registry.errors import RegistryError
    from serve.settings import (
        ModelTagError,
        NoPromotedModel,
        StoreServed,
        check_store_unserved,
        promoted_tag,
        use_model_store,
    )
    from serve.sources import (
        DATA_ENV,
        ServingDataError,
        anchored,
        default_location,
        horizon_allowance,
    )
    from serve.sources import check as check_serving_data

    # The repo's model store (build/bentoml) unless BENTOML_HOME names another.
    use_model_store()
    # BentoML reads its port, and the service its data's location, its horizon allowance and its
    # model, only inside `bentoml serve`'s processes: a missing or mistyped one is named here
    # rather than in a traceback there, a worker that never gets ready or a server on another
    # port.
    try:
        check_store_unserved()
        check_server_args(args)
        horizon_allowance()
        check_serving_data(os.environ.get(DATA_ENV) or default_location())
        promoted_tag()
    except (
        UsageError,
        ServingDataError,
        NoPromotedModel,
        ModelTagError,
        RegistryError,
        StoreServed,
    ) as error:
        print(f"{PROG} serve: error: {error}", file=sys.stderr)
        return 2
    # `bentoml serve` puts its working directory first on the import path and runs its workers
    # in it, so a `serve/` (or `pandas/`) where the caller stands would be served instead of the
    # artifact's: pin it to the artifact's code, and keep `python -m` from adding the caller's
    # directory (PYTHONSAFEPATH, inherited by the workers) and the interpreter from reading a
    # PYTHONPATH (which the PEX itself ignores). The workers then run in the code's directory,
    # so the files they find by a path from the caller's (the store, above; the serving data,
    # by default under the caller's checkout; BentoML's configuration) are named absolutely.
    os.environ[DATA_ENV] = anchored()
    if os.environ.get(BENTOML_CONFIG_ENV):
        os.environ[BENTOML_CONFIG_ENV] = os.path.abspath(os.environ[BENTOML_CONFIG_ENV])
    os.environ["PYTHONSAFEPATH"] = "1"
    os.environ.pop("PYTHONPATH", None)
    command = [sys.executable, "-m", "bentoml", "serve", SERVICE, WORKING_DIR, str(CODE_DIR), *args]
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces this process


def build_bento(args: list[str]) -> int:
    # Imported here and in the next: the server need not load the builder or the publisher.
    from serve import bento

    return bento.main(args, prog=f"{PROG} build")


def publish_serving_data(args: list[str]) -> int:
    from serve import publish

    return publish.main(args, prog=f"{PROG} publish")


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "serve": run_server,
    "build": build_bento,
    "publish": publish_serving_data,
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(f"usage: {PROG} {{{','.join(COMMANDS)}}} [ARGS]\n\n{__doc__}")
        return 0
    if not args or args[0] not in COMMANDS:
        named = f"unknown command {args[0]!r}" if args else "no command given"
        print(f"{PROG}: error: {named}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        check_bentoml_config()
        check_store_home()
    except UsageError as error:
        print(f"{PROG} {args[0]}: error: {error}", file=sys.stderr)
        return 2
    return COMMANDS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
