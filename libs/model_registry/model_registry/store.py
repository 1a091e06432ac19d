"""Where registered models live and how they are named, labelled and described.

The store is BentoML's local model store under `$BENTOML_HOME/models`. Unless BENTOML_HOME is
set (or a path is given), the home is `<repo>/build/bentoml`: the repo's git-ignored build area,
never the user's home directory. The repo is the nearest directory at or above the current one
holding `pants.toml`; outside a repo, `./build/bentoml`.

Only BentoML's public API is used (`bentoml.models.create/list/get/delete`), and it has one
store per process, read from BENTOML_HOME the first time anything touches it. So `open_store`
points BENTOML_HOME at the home it is given, and refuses a second, different home in the same
process (RegistryError): a process that needs another store is another process.

Every model is registered as MODEL_NAME with labels ROLE (`candidate`, the model the gate
judges, or `baseline`, its reference), KIND (`torch` or `sklearn`) and STAGE. The promotion gate
sets STAGE to `promoted` when the candidate passes and `registered` otherwise. The model to
serve is the most recently created one labelled `stage=promoted` and not rolled back.
`roll_back` (the andon cord, `train rollback`) marks the served model rolled back (a ROLLED_BACK
record beside its files, outside the hashed set), so serving falls back to the one promoted
before, and the gate never compares against it again; nothing is deleted. It refuses, changing
nothing, when serve would refuse the one promoted before: a file of it that is not the one
its registration recorded (`verify_registered`), or its weather lead (`weather_lead_problem`,
ADR 0019). It reads no serving data, so it cannot tell whether the store
serve reads has that model's trailing window (ADR 0017). Metadata keys are the METADATA_* names.

Registration records the sha256 of every file of the model (METADATA_FILES_SHA256);
`load_registered` verifies them before the model is used.

BentoML copies a model into the store file by file, under its final name: a reader may see a
version whose files (model.yaml among them) are not all there yet, or never will be because
the registration died. So `register` writes a REGISTERED record beside the files (outside the
hashed set, as ROLLED_BACK is) once BentoML is done, and the readers (`models`,
`newest_promoted`, `listed_models`) leave out a version without it; `load_registered`, for a
version asked for by name, refuses it naming why; `delete` and `register` keep working beside
such a version, which BentoML's own delete and its `latest` pointer trip on. A model registered
before the record existed
has none: it counts as complete when every file it records has its recorded sha256 (and as a
registration that never completed otherwise). `registry_lock` makes a read-compare-register
(the promotion gate) and a rollback run one at a time on a store.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
import pandas as pd

# Re-exported: callers type models without importing BentoML themselves.
from bentoml import Model as Model
from bentoml import Tag
from bentoml.exceptions import BentoMLException, NotFound

from feature_definitions.trailing_window import trailing_window
from feature_definitions.weather import WEATHER_LEAD_HOURS, weather_lead_hours
from model_registry.errors import RegistryError
from model_registry.predictor import ModelIntegrityError, Predictor, load_predictor, verify_files
from storage.atomic import atomic_write_text, exclusive_lock
from storage.digest import tree_sha256
from storage.inputs import directory_problem

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
# The trailing window (days) of the features the model was trained on, as the feature build
# recorded it (feature_definitions.trailing_window); no entry where the features came without it.
METADATA_FEATURES_WINDOW_DAYS = "features_window_days"
# The weather lead (hours) of the features the model was trained on, as the feature build
# recorded it (feature_definitions.weather); no entry where the features came without it. A
# model with a window and no lead was registered before the lead (ADR 0019): its weather was
# its departure hour's.
METADATA_FEATURES_WEATHER_LEAD_HOURS = "features_weather_lead_hours"
METADATA_PARAMS = "params"
METADATA_METRICS = "metrics"
METADATA_PROMOTION = "promotion"
# {relative path: sha256} of every file registered, predictor.json included.
METADATA_FILES_SHA256 = "files_sha256"
# In a rolled-back model's directory: when and why it was rolled back (JSON).
ROLLED_BACK = "rolled_back.json"
# In a model's directory once its registration completed: when (JSON).
REGISTERED_RECORD = "registered.json"
# Beside the store's models/: held while the gate compares and registers, or a rollback marks.
LOCK_FILE = "registry.lock"
# A gate holds the lock while it re-scores the promoted model and registers a run's two models.
LOCK_TIMEOUT_SECONDS = 600.0


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
    """Make `home` this process's BentoML home (what `bentoml.models` and `BentoModel` read).
    Call it at the start of a process, before anything touches the store: BentoML reads the
    home once."""
    os.environ[HOME_ENV] = str(home.absolute())


@dataclass(frozen=True)
class ModelStore:
    """BentoML's model store of this process: the one under `home`."""

    home: Path


def open_store(home: Path, *, create: bool = True) -> ModelStore:
    """The model store under `home`, made this process's BentoML store. Also turns BentoML's
    usage tracking off, so that nothing BentoML does on the side reaches the network. With
    `create=False` (for a command that only changes what is there, as a rollback) a store that
    does not exist is an error naming it, not an empty one made at a mistyped path."""
    home = home.expanduser().absolute()
    problem = None if create else directory_problem(home / "models")
    if problem:
        raise RegistryError(
            f"no model store at {home} (its models/ directory {problem}); pass the store with "
            f"--store or {HOME_ENV}"
        )
    os.environ.setdefault(DO_NOT_TRACK_ENV, "true")
    current = os.environ.get(HOME_ENV)
    if current and Path(current).expanduser().absolute() != home:
        raise RegistryError(
            f"cannot open the model store at {home}: this process uses the one at "
            f"${HOME_ENV}={current}, and BentoML keeps one store per process; run it with "
            f"{HOME_ENV}={home}, or without {HOME_ENV}"
        )
    os.environ[HOME_ENV] = str(home)
    (home / "models").mkdir(parents=True, exist_ok=True)
    return ModelStore(home)


def _in_store(store: ModelStore, model: Model) -> Model:
    """`model`, once checked to live in `store`: a guard against a BentoML home read before
    open_store set it."""
    if not Path(model.path).absolute().is_relative_to(store.home):
        raise RegistryError(
            f"BentoML's store is not {store.home} (it holds {model.tag} at {model.path}): "
            f"something used BentoML before the store was opened; set {HOME_ENV} first"
        )
    return model


@contextmanager
def registry_lock(store: ModelStore, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the store's lock for the block: two runs of the gate (or a gate and a rollback) on
    one store take turns, so that neither promotes against a reference the other is replacing.
    RegistryError, naming the holder, after waiting `timeout` seconds."""
    with ExitStack() as held:
        try:
            held.enter_context(exclusive_lock(store.home / LOCK_FILE, timeout=timeout))
        except TimeoutError as error:
            raise RegistryError(f"the model store at {store.home} is busy: {error}") from None
        yield


def register(
    store: ModelStore, directory: Path, labels: Mapping[str, str], metadata: Mapping[str, Any]
) -> Tag:
    """Save the files of `directory` as a new version of MODEL_NAME, with the sha256 of each,
    and mark it complete (REGISTERED_RECORD) once they are all in the store."""
    recorded = {**metadata, METADATA_FILES_SHA256: tree_sha256(directory)}
    _drop_stale_latest(store)
    with bentoml.models.create(MODEL_NAME, labels=dict(labels), metadata=recorded) as model:
        shutil.copytree(directory, model.path, dirs_exist_ok=True)
    stored = _in_store(store, bentoml.models.get(model.tag))
    record = {"at": datetime.now(UTC).isoformat()}
    atomic_write_text(Path(stored.path) / REGISTERED_RECORD, json.dumps(record))
    tag: Tag = stored.tag
    return tag


def get(store: ModelStore, tag: Tag | str) -> Model:
    """The registered model `tag` (BentoML's NotFound if there is none)."""
    return _in_store(store, bentoml.models.get(tag))


def _verify_recorded(model: Model) -> None:
    """ModelIntegrityError unless every file `model`'s registration recorded has its sha256."""
    recorded = model.info.metadata.get(METADATA_FILES_SHA256)
    digests = {str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else {}
    verify_files(Path(model.path), digests, f"the registry record of {model.tag}")


def registration_problem(model: Model) -> str | None:
    """Why `model`'s registration is not complete, or None when it is: it has the
    REGISTERED_RECORD, or (registered before that record existed) its files verify."""
    if (Path(model.path) / REGISTERED_RECORD).is_file():
        return None
    try:
        _verify_recorded(model)
    except ModelIntegrityError as error:
        return (
            f"the registration of {model.tag} has not completed (it has no {REGISTERED_RECORD}, "
            f"and {error})"
        )
    return None


def verify_registered(model: Model) -> None:
    """ModelIntegrityError unless `model`'s registration is complete and every file it recorded
    has its sha256 (naming the first that does not): check it before reading any of its files."""
    problem = registration_problem(model)
    if problem:
        raise ModelIntegrityError(problem)
    _verify_recorded(model)


def load_registered(model: Model) -> Predictor:
    """The registered model's predictor, once verified (verify_registered)."""
    verify_registered(model)
    return load_predictor(Path(model.path))


def trained_window(model: Model) -> pd.Timedelta | None:
    """The trailing window of the features `model` was trained on, as its registration
    recorded it; None when it recorded none (no entry). RegistryError when the record is not a
    window."""
    recorded = model.info.metadata.get(METADATA_FEATURES_WINDOW_DAYS)
    if recorded is None:
        return None
    try:
        return trailing_window(recorded, f"{model.tag}'s {METADATA_FEATURES_WINDOW_DAYS!r}")
    except ValueError as error:
        raise RegistryError(str(error)) from None


def trained_weather_lead(model: Model) -> int | None:
    """The weather lead (hours) of the features `model` was trained on, as its registration
    recorded it: 0 when it recorded a trailing window and no lead (registered before the lead,
    from a feature build that joined the departure hour's weather), None when it recorded
    neither. RegistryError when the record is not a whole number of hours >= 0."""
    metadata = model.info.metadata
    recorded = metadata.get(METADATA_FEATURES_WEATHER_LEAD_HOURS)
    if recorded is None:
        return 0 if metadata.get(METADATA_FEATURES_WINDOW_DAYS) is not None else None
    try:
        return weather_lead_hours(
            recorded, f"{model.tag}'s {METADATA_FEATURES_WEATHER_LEAD_HOURS!r}"
        )
    except ValueError as error:
        raise RegistryError(str(error)) from None


def weather_lead_problem(model: Model) -> str | None:
    """Why serving refuses `model` for the weather it was trained on, or None: its registration
    records another weather lead than this code gives each flight (WEATHER_LEAD_HOURS; a window
    and no lead is 0, trained_weather_lead). One that records neither is not refused here (serve
    checks the statistics' lead). RegistryError when the record is not a lead. The one rule of
    serve's load and of `roll_back` (ADR 0019)."""
    lead = trained_weather_lead(model)
    if lead is None or lead == WEATHER_LEAD_HOURS:
        return None
    unrecorded = METADATA_FEATURES_WEATHER_LEAD_HOURS not in model.info.metadata
    return (
        f"{model.tag} was trained on the weather {lead} hours before departure"
        + (" (registered before the lead was recorded)" if unrecorded else "")
        + f" and serving gives each flight the weather {WEATHER_LEAD_HOURS} hours before "
        "(feature_definitions.weather.WEATHER_LEAD): its weather features would not be the ones "
        "it was trained on"
    )


def _age(model: Model) -> tuple[datetime, str]:
    """What orders a model's versions: when each was made, then its version."""
    return model.creation_time, str(model.tag.version)


def _readable_versions(directory: Path) -> list[Model]:
    """The versions of MODEL_NAME under `directory` (a store's models/<MODEL_NAME>) that BentoML
    can read, each read on its own: `bentoml.models.list` reads none when one lacks its
    model.yaml (a registration that has not copied it yet, or died first)."""
    try:
        names = sorted(entry.name for entry in directory.iterdir() if entry.is_dir())
    except FileNotFoundError:
        return []
    readable = []
    for name in names:
        try:
            readable.append(bentoml.models.get(Tag(MODEL_NAME, name)))
        except NotFound:
            if (directory / name).is_dir():
                raise RegistryError(
                    f"BentoML's store is not the one holding {directory / name}: something used "
                    f"BentoML before the store was opened; set {HOME_ENV} first"
                ) from None
        except BentoMLException:
            continue
    return readable


def _complete(found: Iterable[Model]) -> list[Model]:
    return sorted((m for m in found if registration_problem(m) is None), key=_age)


def models(store: ModelStore) -> list[Model]:
    """Every completely registered version of MODEL_NAME, oldest first."""
    found = [_in_store(store, m) for m in _readable_versions(store.home / "models" / MODEL_NAME)]
    return _complete(found)


def listed_models() -> list[Model]:
    """Every completely registered version of MODEL_NAME in the store BentoML reads in this
    process (inside a Bento, the models it packs), oldest first. Outside a Bento the store is
    $BENTOML_HOME's, read a version at a time when BentoML cannot list them all."""
    try:
        found = bentoml.models.list(MODEL_NAME)
    except NotFound:  # no version of MODEL_NAME at all
        return []
    except BentoMLException:
        found = _readable_versions(store_home() / "models" / MODEL_NAME)
    return _complete(found)


def rollback_record(model: Model) -> dict[str, str] | None:
    """When and why `model` was rolled back ({"reason", "at"}), or None."""
    path = Path(model.path) / ROLLED_BACK
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except ValueError as error:
        raise RegistryError(f"{path} is not JSON: {error}") from None
    if not isinstance(record, dict):
        raise RegistryError(f"{path} must be a JSON object")
    return record


def newest_promoted(candidates: Iterable[Model]) -> Model | None:
    """The model to serve among `candidates`: the newest completely registered, labelled
    `stage=promoted` and not rolled back, or None. The one rule of the promotion gate
    (`promoted_model`) and of the server (serve.settings, which reads `listed_models`)."""
    promoted = [
        m
        for m in candidates
        if m.info.labels.get(STAGE) == PROMOTED
        and rollback_record(m) is None
        and registration_problem(m) is None
    ]
    return max(promoted, key=_age, default=None)


def promoted_model(store: ModelStore) -> Model | None:
    """The model to serve from `store` (`newest_promoted`), or None."""
    return newest_promoted(models(store))


def roll_back(store: ModelStore, reason: str) -> tuple[Tag, Model | None]:
    """Pull the andon cord: mark the served model rolled back. Returns its tag and the model
    served from now on (the one promoted before it), or None if there is none. RegistryError,
    with nothing changed, when serving would refuse the one promoted before: a file of it is not
    the one its registration recorded (verify_registered), or its weather lead
    (weather_lead_problem); its trailing window is not checked against any store."""
    if not reason.strip():
        raise RegistryError("a rollback needs a reason")
    with registry_lock(store):
        registered = models(store)
        current = newest_promoted(registered)
        if current is None:
            raise RegistryError(f"no promoted model to roll back in the store at {store.home}")
        following = newest_promoted(m for m in registered if m.tag != current.tag)
        if following is not None:
            try:
                verify_registered(following)
                problem = weather_lead_problem(following)
            except (ModelIntegrityError, RegistryError) as error:
                problem = str(error)
            if problem is not None:
                raise RegistryError(
                    f"cannot roll back {current.tag}: the model promoted before it would serve "
                    f"next, and serve refuses it: {problem}; nothing was changed. To stop "
                    f"serving {current.tag}, pin a model serve accepts "
                    "(FLIGHT_DELAY_MODEL=flight-delay:<version>, services/serve/README.md), such "
                    "as one `./pants run //:main` registers"
                )
        path = Path(current.path) / ROLLED_BACK
        record = {"reason": reason, "at": datetime.now(UTC).isoformat()}
        atomic_write_text(path, json.dumps(record))
        return current.tag, promoted_model(store)


def _drop_stale_latest(store: ModelStore) -> None:
    """Remove BentoML's `latest` pointer of MODEL_NAME when it names a version that is gone.
    BentoML looks the pointer up after copying a new version's files; to mend a stale one it
    lists every version, which fails on a registration that died before its model.yaml, and the
    registration then fails with its files in the store. Without a pointer, BentoML writes one."""
    pointer = store.home / "models" / MODEL_NAME / "latest"
    try:
        version = pointer.read_text().strip()
    except (FileNotFoundError, IsADirectoryError):
        return
    if not version or not (pointer.parent / version).is_dir():
        pointer.unlink(missing_ok=True)


def delete(store: ModelStore, tag: Tag | str) -> None:
    """Remove the registered version `tag` from `store`."""
    model = get(store, tag)
    try:
        bentoml.models.delete(model.tag)
    except BentoMLException:
        # BentoML removes the version, then lists those left to move its `latest` pointer,
        # which fails on a registration that died before its model.yaml: the version is gone
        # all the same, and register drops the pointer left naming it.
        if Path(model.path).exists():
            raise
