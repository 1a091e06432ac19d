"""Where the service's data comes from: the online store and the training statistics, from one
location per environment.

FLIGHT_DELAY_SERVING_DATA names it: a directory (default: the repo's `data/`, where the
pipeline writes them) or an S3 prefix. Either way it holds the pipeline's layout:

    online_store/online.sqlite     (DVC stage online_store)
    features/stats.json            (DVC stage features)

The location may name the served model's version as `{model_version}`; the service puts its
model's version there. On AWS it does (`s3://<artifacts bucket>/serving/{model_version}`, the
`serving_data_url` output): the deploy job publishes each promoted model's data under its own
version (serve.publish), so an image rolled back, or a task of the previous model started
while a new one rolls out, reads the statistics and store of its own model, not the newest.

A remote location is copied into a local cache first (by default a directory of this user's
that no one else can write, in the temporary directory); each file is written aside and renamed,
so a reader never sees half a file. A local location's files must appear the same way, as the
pipeline's stages write them: the service opens a file as soon as it is there. The service
waits for both files for at most FLIGHT_DELAY_SERVING_WAIT_SECONDS (default 600), then fails
with an error naming what is missing and where it looked. The model itself travels in the
Bento (the image).

FLIGHT_DELAY_HORIZON_ALLOWANCE_HOURS (default 24, online_store.store.HORIZON_ALLOWANCE) is how
far past the online store's data horizon a flight's departure may be: a later one is refused
(a 400 naming it), since its trailing window would count arrivals the store has not seen.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import fsspec
import pandas as pd

from feature_definitions.trailing_window import STATS_FILE
from model_registry.store import repo_root
from online_store.store import HORIZON_ALLOWANCE
from serve.settings import VERSION
from storage.atomic import atomic_output
from storage.locations import is_remote
from storage.remote import LocationError, check_location, storage_errors

DATA_ENV = "FLIGHT_DELAY_SERVING_DATA"
WAIT_ENV = "FLIGHT_DELAY_SERVING_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 600.0
ALLOWANCE_ENV = "FLIGHT_DELAY_HORIZON_ALLOWANCE_HOURS"
ONLINE_STORE = PurePosixPath("online_store/online.sqlite")
STATS = PurePosixPath("features", STATS_FILE)
# What the service reads, in the order serve.publish writes it.
FILES = (ONLINE_STORE, STATS)
MODEL_VERSION = "{model_version}"
# How often a wait looks again.
POLL_SECONDS = 0.5


class ServingDataError(RuntimeError):
    """The serving data cannot be had; the message names what, and where it was looked for."""


@dataclass(frozen=True)
class ServingData:
    online_store: Path
    stats: Path


def location(model_version: str, environ: Mapping[str, str] = os.environ) -> str:
    """$FLIGHT_DELAY_SERVING_DATA (else the repo's data/, nearest pants.toml upwards) for the
    model of version `model_version`."""
    if environ.get(DATA_ENV):
        return for_model(environ[DATA_ENV], model_version)
    return default_location()


def default_location() -> str:
    """The repo's data/ (nearest pants.toml upwards from the working directory)."""
    cwd = Path.cwd()
    return str((repo_root(cwd) or cwd) / "data")


def anchored(environ: Mapping[str, str] = os.environ) -> str:
    """$FLIGHT_DELAY_SERVING_DATA (else the default) as a process in another working directory
    must read it: a local path made absolute here, `{model_version}` kept."""
    where = environ.get(DATA_ENV) or default_location()
    if is_remote(where):
        return where
    return os.path.abspath(where.removeprefix("file://"))


def for_model(where: str, model_version: str, named: str = DATA_ENV) -> str:
    """`where` (the setting `named`) with `{model_version}` replaced, once `check` passes it."""
    check(where, named)
    if MODEL_VERSION in where and not VERSION.fullmatch(model_version):
        raise ServingDataError(
            f"model version {model_version!r} cannot stand for {MODEL_VERSION} in {where!r}: "
            "expected a version as BentoML writes them (lowercase letters, digits, '_', '.', '-')"
        )
    return where.replace(MODEL_VERSION, model_version)


def check(where: str, named: str = DATA_ENV) -> None:
    """ServingDataError, naming the setting `named`, if `where` holds a brace other than
    `{model_version}`'s or names no place (storage.remote.check_location)."""
    if any(brace in where.replace(MODEL_VERSION, "") for brace in "{}"):
        raise ServingDataError(
            f"{named}={where!r}: the only placeholder a location may hold is {MODEL_VERSION}"
        )
    try:
        check_location(where, named)
    except LocationError as error:
        raise ServingDataError(str(error)) from None


def _number_setting(
    environ: Mapping[str, str], name: str, unit: str, maximum: float, bounds: str
) -> float | None:
    """$`name` as a finite number of `unit` from 0 to `maximum` (`bounds` says so in words),
    None when unset or empty; ServingDataError naming it otherwise."""
    raw = environ.get(name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ServingDataError(f"{name}={raw!r} is not a number of {unit}") from None
    if not (math.isfinite(value) and 0 <= value <= maximum):
        raise ServingDataError(f"{name}={raw!r} must be a finite number of {unit} {bounds}")
    return value


def wait_seconds(environ: Mapping[str, str] = os.environ) -> float:
    value = _number_setting(environ, WAIT_ENV, "seconds", math.inf, ">= 0")
    return DEFAULT_WAIT_SECONDS if value is None else value


def horizon_allowance(environ: Mapping[str, str] = os.environ) -> pd.Timedelta:
    """$FLIGHT_DELAY_HORIZON_ALLOWANCE_HOURS as a duration, else the store's default
    (HORIZON_ALLOWANCE, its only definition); ServingDataError naming it unless it is a finite
    number of hours >= 0."""
    # Up to ten years: pandas holds durations of about 292 years.
    hours = _number_setting(
        environ, ALLOWANCE_ENV, "hours", 24 * 3653, "from 0 to 87672 (ten years)"
    )
    return HORIZON_ALLOWANCE if hours is None else pd.Timedelta(hours=hours)


def fetch(
    where: str,
    wait: float,
    cache: Path | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> ServingData:
    """The online store and the statistics at `where`, local paths (a remote location is
    copied into `cache`), once both exist; ServingDataError after `wait` seconds without."""
    deadline = time.monotonic() + wait
    logged = False
    while True:
        missing = [name for name in FILES if not _exists(where, name)]
        if not missing:
            break
        if time.monotonic() >= deadline:
            names = ", ".join(str(name) for name in missing)
            raise ServingDataError(
                f"{names} not found under {where} after waiting {wait:g} s ({DATA_ENV}): run "
                "the pipeline (or the deploy job's upload) that writes them"
            )
        if not logged:
            log(f"waiting up to {wait:g} s for {', '.join(map(str, missing))} under {where}")
            logged = True
        time.sleep(POLL_SECONDS)
    if not is_remote(where):
        root = Path(where.removeprefix("file://"))
        return ServingData(root / ONLINE_STORE, root / STATS)
    local = cache or private_cache() / _slug(where)
    return ServingData(_download(where, ONLINE_STORE, local), _download(where, STATS, local))


def file_url(where: str, name: PurePosixPath) -> str:
    """Where the file `name` of the pipeline's layout is under the location `where`."""
    return f"{where.rstrip('/')}/{name}"


def _exists(where: str, name: PurePosixPath) -> bool:
    if not is_remote(where):
        return (Path(where.removeprefix("file://")) / name).is_file()
    with storage_errors("read", file_url(where, name), ServingDataError):
        filesystem, path = fsspec.core.url_to_fs(file_url(where, name))
        # A fresh listing each time: the file may appear while we wait.
        filesystem.invalidate_cache()
        return bool(filesystem.isfile(path))


def _download(where: str, name: PurePosixPath, cache: Path) -> Path:
    target = cache / name
    with (
        storage_errors("copy", file_url(where, name), ServingDataError),
        atomic_output(target) as part,
        fsspec.open(file_url(where, name), "rb") as source,
        open(part, "wb") as copy,
    ):
        shutil.copyfileobj(source, copy)
    return target


def private_cache() -> Path:
    """This user's cache of remote serving data, in the temporary directory: made 0700, and
    refused unless it is still a directory of this user's that no one else can write. In a
    shared /tmp, another user could otherwise make it first and swap a file in after its
    download."""
    root = Path(tempfile.gettempdir()) / f"flight-delay-serving-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    info = root.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise ServingDataError(
            f"{root} is not this user's private cache (a directory owned by uid {os.getuid()} "
            f"that no one else can write; it is mode {stat.filemode(info.st_mode)}, owned by uid "
            f"{info.st_uid}): remove it"
        )
    return root


def _slug(where: str) -> str:
    return hashlib.sha256(where.encode()).hexdigest()[:16]
