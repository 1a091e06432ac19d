"""Command line of the serve service, the one artifact every serve job runs.

serve [ARGS]   run the HTTP server (`bentoml serve`) on this artifact's code, passing ARGS on
               (--host, --port, ...; not --working-dir)
build [ARGS]   build the Bento of the promoted model and print its tag (`build --help`)
publish ARGS   publish a model's serving data where its serve tasks read it (`publish --help`)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import serve
from serve.settings import NoPromotedModel, PinnedModelError, promoted_tag, use_model_store
from serve.sources import DATA_ENV, ServingDataError, anchored, default_location
from serve.sources import check as check_serving_data

PROG = "serve"
SERVICE = "serve.service:FlightDelayService"
# Where this artifact's code is (its venv's site-packages).
CODE_DIR = Path(serve.__file__).parent.parent
WORKING_DIR = "--working-dir"
# BentoML's configuration file, which each worker reads.
BENTOML_CONFIG_ENV = "BENTOML_CONFIG"


def run_server(args: list[str]) -> int:
    if any(arg == WORKING_DIR or arg.startswith(f"{WORKING_DIR}=") for arg in args):
        print(
            f"{PROG} serve: error: {WORKING_DIR} is not an option here: the server runs this "
            f"artifact's code, in {CODE_DIR}",
            file=sys.stderr,
        )
        return 2
    # The repo's model store (build/bentoml) unless BENTOML_HOME names another.
    use_model_store()
    # BentoML reads its configuration, and the service its data's location and its model, only
    # inside `bentoml serve`'s processes: a missing or mistyped one is named here rather than in
    # a traceback there, or a worker that never gets ready.
    config = os.environ.get(BENTOML_CONFIG_ENV)
    try:
        if config and not os.path.isfile(config):
            raise FileNotFoundError(f"{BENTOML_CONFIG_ENV}={config!r}: no such file")
        check_serving_data(os.environ.get(DATA_ENV) or default_location())
        promoted_tag()
    except (FileNotFoundError, ServingDataError, NoPromotedModel, PinnedModelError) as error:
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
    if config:
        os.environ[BENTOML_CONFIG_ENV] = os.path.abspath(config)
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
    return COMMANDS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
