"""Runs the serve service's HTTP server (`bentoml serve`) with any extra arguments passed on."""

from __future__ import annotations

import os
import sys

from serve.settings import NoPromotedModel, PinnedModelError, promoted_tag, use_model_store


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # The repo's model store (build/bentoml) unless BENTOML_HOME names another.
    use_model_store()
    # The service resolves its model when BentoML imports it; a missing or mistyped one is
    # named here rather than in a traceback from inside `bentoml serve`.
    try:
        promoted_tag()
    except (NoPromotedModel, PinnedModelError) as error:
        print(f"serve: error: {error}", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "bentoml", "serve", "serve.service:FlightDelayService", *args]
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main())
