"""Where the service finds its model, online store and training statistics.

Every path can be set by environment variable; the defaults are the pipeline's outputs in the
repo (the nearest directory at or above the working directory holding pants.toml).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from model_registry.store import (
    DO_NOT_TRACK_ENV,
    HOME_ENV,
    MODEL_NAME,
    PROMOTED,
    STAGE,
    repo_root,
    store_home,
)

ONLINE_STORE_ENV = "FLIGHT_DELAY_ONLINE_STORE"
STATS_ENV = "FLIGHT_DELAY_FEATURE_STATS"
# A model tag to serve instead of the newest promoted one (e.g. to pin or roll back).
MODEL_ENV = "FLIGHT_DELAY_MODEL"
DEFAULT_ONLINE_STORE = Path("data/online_store/online.sqlite")
DEFAULT_STATS = Path("data/features/stats.json")


class NoPromotedModel(LookupError):
    pass


def _path(environ: Mapping[str, str], name: str, default: Path) -> Path:
    if environ.get(name):
        return Path(environ[name]).expanduser().absolute()
    cwd = Path.cwd()
    return (repo_root(cwd) or cwd) / default


def online_store_path(environ: Mapping[str, str] = os.environ) -> Path:
    return _path(environ, ONLINE_STORE_ENV, DEFAULT_ONLINE_STORE)


def stats_path(environ: Mapping[str, str] = os.environ) -> Path:
    return _path(environ, STATS_ENV, DEFAULT_STATS)


def use_model_store() -> None:
    """Point BentoML at the repo's model store (model_registry's default home) unless
    BENTOML_HOME says otherwise, and keep its usage tracking off."""
    os.environ.setdefault(HOME_ENV, str(store_home()))
    os.environ.setdefault(DO_NOT_TRACK_ENV, "true")


def promoted_tag(environ: Mapping[str, str] = os.environ) -> str:
    """The tag to serve: $FLIGHT_DELAY_MODEL, else the newest `flight-delay` model labelled
    stage=promoted in BentoML's store (inside a Bento, the models it packs)."""
    if environ.get(MODEL_ENV):
        return environ[MODEL_ENV]
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        registered = bentoml.models.list(MODEL_NAME)
    except NotFound:  # no version of MODEL_NAME at all
        registered = []
    candidates = [m for m in registered if m.info.labels.get(STAGE) == PROMOTED]
    if not candidates:
        raise NoPromotedModel(
            f"no {MODEL_NAME} model labelled {STAGE}={PROMOTED} in the BentoML store "
            f"({environ.get(HOME_ENV, 'default home')}); train and evaluate first, or set "
            f"{MODEL_ENV}"
        )
    newest = max(candidates, key=lambda m: (m.creation_time, str(m.tag.version)))
    return str(newest.tag)
