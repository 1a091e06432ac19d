"""Which model the service serves, and the BentoML store it comes from. The online store and the
training statistics come from serve.sources."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from model_registry.store import (
    DO_NOT_TRACK_ENV,
    HOME_ENV,
    MODEL_NAME,
    PROMOTED,
    STAGE,
    Model,
    listed_models,
    newest_promoted,
    registration_problem,
    store_home,
)

# A model tag to serve instead of the newest promoted one (e.g. to pin or roll back).
MODEL_ENV = "FLIGHT_DELAY_MODEL"
# A model version as BentoML writes it: lowercase letters, digits, '_', '.' and '-', starting
# and ending with a letter or digit; a tag of the model is `flight-delay:<version>`.
VERSION = re.compile(r"[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?")
VERSION_MAX_LENGTH = 63  # BentoML's, for a tag's name and version alike
MODEL_TAG = re.compile(rf"{re.escape(MODEL_NAME)}:({VERSION.pattern})")
LATEST = "latest"  # BentoML's name for a model's newest version


class NoPromotedModel(LookupError):
    pass


class StoreServed(RuntimeError):
    """A server already runs on the model store a new one would start on."""


class ModelTagError(ValueError):
    """A model tag ($FLIGHT_DELAY_MODEL's, or a command's option) names no flight-delay model
    in the store; the message names the setting and says why."""


def use_model_store() -> None:
    """Point BentoML at the repo's model store (model_registry's default home) unless
    BENTOML_HOME says otherwise, made absolute (the server's workers run in another directory),
    and keep its usage tracking off."""
    os.environ[HOME_ENV] = str(store_home())
    os.environ.setdefault(DO_NOT_TRACK_ENV, "true")


def check_store_unserved(environ: Mapping[str, str] = os.environ) -> None:
    """StoreServed when a server runs on the model store BENTOML_HOME names: BentoML empties the
    metrics directory in its home when a server starts there, so the running one's /metrics
    would lose its counts and read not ready."""
    # Here, not at the top: the metrics module defines the service's metrics as it loads, which
    # the builder and the publisher, also importing this module, have no use for.
    from serve.metrics import MULTIPROC_DIR, running_workers

    home = environ.get(HOME_ENV) or str(store_home())
    workers = running_workers(home)
    if workers:
        raise StoreServed(
            f"a server runs on the model store {home} (workers {', '.join(map(str, workers))}): "
            f"BentoML empties {Path(home) / MULTIPROC_DIR} when a server starts there, and "
            "that server's metrics would be lost; stop it, or start this one with another "
            "BENTOML_HOME (a copy of the store)"
        )


def promoted_tag(environ: Mapping[str, str] = os.environ) -> str:
    """The tag to serve: $FLIGHT_DELAY_MODEL, else the newest `flight-delay` model labelled
    stage=promoted and not rolled back in BentoML's store (inside a Bento, the models it
    packs)."""
    if environ.get(MODEL_ENV):
        return pinned_tag(environ[MODEL_ENV], environ)
    newest = newest_promoted(listed_models())
    if newest is None:
        raise NoPromotedModel(
            f"no {MODEL_NAME} model labelled {STAGE}={PROMOTED} in the BentoML store "
            f"({environ.get(HOME_ENV, 'default home')}); train and evaluate first, or set "
            f"{MODEL_ENV}"
        )
    return str(newest.tag)


def pinned_tag(text: str, environ: Mapping[str, str] = os.environ) -> str:
    """The tag of the version `text` ($FLIGHT_DELAY_MODEL) names, once checked to be a version
    of MODEL_NAME that the store holds: a typo would otherwise fail deep inside BentoML (or send
    it looking for BentoCloud). Not `latest`: BentoML's newest registered version, whatever its
    stage, is the candidate the gate refused as often as not."""
    named = f"{MODEL_ENV}={text!r}"
    if tag_version(text) == LATEST:
        raise ModelTagError(
            f"{named}: `{LATEST}` is BentoML's newest registered version whatever its stage (a "
            "candidate the gate refused, a model rolled back): pin a version "
            f"(`bentoml models list {MODEL_NAME}`), or unset {MODEL_ENV} to serve the newest "
            "promoted one"
        )
    return str(registered_model(text, named, environ).tag)


def registered_model(text: str, named: str, environ: Mapping[str, str] = os.environ) -> Model:
    """The model of the tag `text`, once checked to be a version of MODEL_NAME in the store;
    else ModelTagError, whose message starts with `named` (where the tag came from)."""
    import bentoml
    from bentoml.exceptions import BentoMLException, NotFound

    if tag_version(text) is None:
        raise ModelTagError(
            f"{named}: expected {MODEL_NAME}:<version>, the version at most "
            f"{VERSION_MAX_LENGTH} lowercase letters, digits, '_', '.' and '-'"
        )
    try:
        model = bentoml.models.get(text)
    except NotFound:
        raise ModelTagError(
            f"{named}: no such model in the BentoML store "
            f"({environ.get(HOME_ENV, 'default home')}); "
            f"`bentoml models list {MODEL_NAME}` lists those there"
        ) from None
    except BentoMLException as error:  # a version without its model.yaml, or a prefix of two
        raise ModelTagError(
            f"{named}: its registration has not completed, or it is the start of several "
            f"versions ({error})"
        ) from None
    problem = registration_problem(model)
    if problem:
        raise ModelTagError(f"{named}: {problem}")
    return model


def tag_version(text: str) -> str | None:
    """The version `text` names if it is a tag of the model (MODEL_TAG), else None. Stricter
    than BentoML's own parsing, which lowercases and raises more than one kind of error."""
    match = MODEL_TAG.fullmatch(text)
    return match.group(1) if match and len(match.group(1)) <= VERSION_MAX_LENGTH else None
