"""Where registered models live and how they are named, labelled and described.

The store is BentoML's local model store under `$BENTOML_HOME/models`. Unless BENTOML_HOME is
set (or a path is given), the home is `<repo>/build/bentoml`: the repo's git-ignored build area,
never the user's home directory. The repo is the nearest directory at or above the current one
holding `pants.toml`; outside a repo, `./build/bentoml`.

Every model is registered as MODEL_NAME with labels ROLE (`candidate`, the model the gate
judges, or `baseline`, its reference), KIND (`torch` or `sklearn`) and STAGE. The promotion gate
sets STAGE to `promoted` when the candidate passes and `registered` otherwise. The model to
serve is the most recently created one labelled `stage=promoted`; deleting it (`bentoml models
delete`) rolls serving back to the one promoted before. Metadata keys are the METADATA_* names.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Re-exported: callers type their stores without importing BentoML internals.
from bentoml._internal.models.model import Model as Model
from bentoml._internal.models.model import ModelStore as ModelStore
from bentoml._internal.tag import Tag
from bentoml.exceptions import NotFound
from bentoml.models import create

HOME_ENV = "BENTOML_HOME"
# BentoML posts usage events to bentoml.com on every save unless this is "true".
DO_NOT_TRACK_ENV = "BENTOML_DO_NOT_TRACK"
MODEL_NAME = "flight-delay"

ROLE = "role"
CANDIDATE = "candidate"
BASELINE = "baseline"
KIND = "kind"
STAGE = "stage"
PROMOTED = "promoted"
REGISTERED = "registered"

METADATA_GIT_COMMIT = "git_commit"
# True when the working tree had uncommitted changes to tracked files: the commit alone does not
# reproduce the model.
METADATA_GIT_DIRTY = "git_dirty"
# DVC's hash of the feature directory (`<md5>.dir`, as dvc.lock records it), or None.
METADATA_FEATURES_DVC_HASH = "features_dvc_hash"
METADATA_PARAMS = "params"
METADATA_METRICS = "metrics"
METADATA_PROMOTION = "promotion"


def repo_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / "pants.toml").is_file():
            return directory
    return None


def store_home(explicit: Path | None = None, environ: Mapping[str, str] = os.environ) -> Path:
    """The BentoML home: `explicit`, else $BENTOML_HOME, else the repo's build/bentoml."""
    if explicit is not None:
        return explicit.absolute()
    if environ.get(HOME_ENV):
        return Path(environ[HOME_ENV]).expanduser().absolute()
    cwd = Path.cwd()
    return (repo_root(cwd) or cwd) / "build" / "bentoml"


def use_home(home: Path) -> None:
    """Point BentoML's global store (what `bentoml.models.BentoModel` reads) at `home`. Call it
    before anything in the process touches the store: BentoML reads the home once."""
    os.environ[HOME_ENV] = str(home)


def open_store(home: Path) -> ModelStore:
    """The model store under `home`. Also turns BentoML's usage tracking off and, unless
    BENTOML_HOME is set, points it at `home`, so that nothing BentoML does on the side reaches
    the network or the user's home directory."""
    os.environ.setdefault(DO_NOT_TRACK_ENV, "true")
    os.environ.setdefault(HOME_ENV, str(home))
    models = home / "models"
    models.mkdir(parents=True, exist_ok=True)
    return ModelStore(models)


def register(
    store: ModelStore, directory: Path, labels: Mapping[str, str], metadata: Mapping[str, Any]
) -> Tag:
    """Save the files of `directory` as a new version of MODEL_NAME. BentoML builds the model
    aside and moves it into the store only when complete."""
    with create(
        MODEL_NAME, labels=dict(labels), metadata=dict(metadata), _model_store=store
    ) as model:
        shutil.copytree(directory, model.path, dirs_exist_ok=True)
    tag: Tag = model.tag
    return tag


def models(store: ModelStore) -> list[Model]:
    """Every version of MODEL_NAME, oldest first."""
    try:
        found = store.list(MODEL_NAME)
    except NotFound:
        return []
    return sorted(found, key=lambda m: (m.creation_time, str(m.tag.version)))


def promoted_model(store: ModelStore) -> Model | None:
    """The model to serve: the newest labelled `stage=promoted`, or None."""
    promoted = [m for m in models(store) if m.info.labels.get(STAGE) == PROMOTED]
    return promoted[-1] if promoted else None


def delete(store: ModelStore, tag: Tag) -> None:
    store.delete(tag)
