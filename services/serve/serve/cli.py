"""Command line of the serve service, the one artifact every serve job runs.

serve [ARGS]   run the HTTP server (`bentoml serve`), passing ARGS on (--host, --port, ...)
build [ARGS]   build the Bento of the promoted model and print its tag (`build --help`)
publish ARGS   publish a model's serving data where its serve tasks read it (`publish --help`)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from serve.settings import NoPromotedModel, PinnedModelError, promoted_tag, use_model_store

PROG = "serve"


def run_server(args: list[str]) -> int:
    # The repo's model store (build/bentoml) unless BENTOML_HOME names another.
    use_model_store()
    # The service resolves its model when BentoML imports it; a missing or mistyped one is
    # named here rather than in a traceback from inside `bentoml serve`.
    try:
        promoted_tag()
    except (NoPromotedModel, PinnedModelError) as error:
        print(f"{PROG} serve: error: {error}", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "bentoml", "serve", "serve.service:FlightDelayService", *args]
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
