"""Test support for code that uses the model store, and small predictors of both kinds over two
features.

BentoML keeps one model store per process, so a test process has one BentoML home
(`bentoml_home`), emptied after every test: each test starts with an empty store. A test that
needs a store somewhere else runs the code under test in a process of its own.

Import the fixtures where the tests are collected (a conftest.py, or the test module):

    from model_registry.testing import bentoml_env, bentoml_home, model_store  # noqa: F401
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from feature_definitions.features import Feature
from loopback.processes import inherited_pythonpath
from model_registry.encoding import TabularEncoding
from model_registry.predictor import SklearnPredictor
from model_registry.store import DO_NOT_TRACK_ENV, HOME_ENV, ModelStore, open_store

if TYPE_CHECKING:
    from model_registry.torch_predictor import TorchPredictor


@pytest.fixture(scope="session")
def bentoml_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This test process's BentoML home."""
    return tmp_path_factory.mktemp("bentoml")


@pytest.fixture(autouse=True)
def bentoml_env(bentoml_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """BentoML points at the process's test home, never the user's home, and sends nothing
    anywhere; every model a test registered is deleted after it, with any version whose
    registration never completed (which the store's readers leave out)."""
    monkeypatch.setenv(HOME_ENV, str(bentoml_home))
    monkeypatch.setenv(DO_NOT_TRACK_ENV, "true")
    yield
    shutil.rmtree(bentoml_home / "models", ignore_errors=True)


@pytest.fixture
def model_store(bentoml_env: None, bentoml_home: Path) -> ModelStore:
    """The (empty) model store of the test."""
    return open_store(bentoml_home)


def in_fresh_process(script: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a Python script in a new interpreter on this test's import path, with the BentoML
    home `home`, so `sys.modules` holds only what the script imports."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env={"PYTHONPATH": inherited_pythonpath(), HOME_ENV: str(home), DO_NOT_TRACK_ENV: "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )


# Registers argv[2]'s files as a promoted model in the store at argv[1], and dies (as a killed
# process does: no cleanup) once BentoML is copying weights.bin into the store: half of it
# written, model.yaml copied before it or not (BentoML copies the files in no set order).
DYING_REGISTRATION = textwrap.dedent("""
    import os, shutil, sys
    from pathlib import Path
    from model_registry.store import PROMOTED, STAGE, open_store, register
    store, files, with_model_yaml = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
    copytree = shutil.copytree

    def copy_or_die(source, target, **kwargs):
        source, target = Path(source), Path(target)
        if target.is_relative_to(store) and target.name == "weights.bin":
            model_yaml = source.with_name("model.yaml")
            if with_model_yaml:
                shutil.copy2(model_yaml, target.with_name(model_yaml.name))
            else:
                target.with_name(model_yaml.name).unlink(missing_ok=True)
            target.write_bytes(source.read_bytes()[:100])
            os._exit(9)
        return shutil.copy2(source, target, **kwargs)

    shutil.copytree = lambda s, t, **kw: copytree(s, t, **{**kw, "copy_function": copy_or_die})
    register(open_store(store), files, {STAGE: PROMOTED}, {})
""")


def model_files(directory: Path) -> Path:
    """`directory`, made, with files a model may be registered from: a 4 KiB weights.bin and a
    manifest."""
    directory.mkdir()
    (directory / "weights.bin").write_bytes(b"x" * 4096)
    (directory / "predictor.json").write_text("{}")
    return directory


def die_registering(store: ModelStore, files: Path, *, with_model_yaml: bool) -> None:
    """Register `files` in `store` from a fresh process that dies mid-copy
    (DYING_REGISTRATION)."""
    flag = "1" if with_model_yaml else "0"
    died = in_fresh_process(DYING_REGISTRATION, store.home, str(store.home), str(files), flag)
    assert died.returncode == 9, died.stderr


# Holds the registry lock of the store at argv[1] for argv[2] seconds, saying "held" once it
# has it, and writes <store>/released just before it lets go.
HOLDING_THE_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from model_registry.store import ModelStore, registry_lock
    home, seconds = Path(sys.argv[1]), float(sys.argv[2])
    with registry_lock(ModelStore(home)):
        print("held", flush=True)
        time.sleep(seconds)
        (home / "released").write_text("")
""")


@contextmanager
def locked_by_another_process(store: ModelStore, seconds: float) -> Iterator[Path]:
    """Another process holds `store`'s registry lock for `seconds` from the start of the block;
    yields the file it writes as it lets go: a block that took the lock sees it there."""
    released = store.home / "released"
    released.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDING_THE_LOCK, str(store.home), str(seconds)],
        env={"PYTHONPATH": inherited_pythonpath(), HOME_ENV: str(store.home)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        yield released
    finally:
        assert process.wait(timeout=120) == 0
        released.unlink(missing_ok=True)


FEATURES = (Feature("carrier", "categorical"), Feature("dep_hour", "numeric"))


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "carrier": pd.Series(["UA", "AA", "UA", "B6", "AA", "B6"], dtype="string"),
            "dep_hour": [6, 12, 18, 22, 7, 20],
            "delayed": [0, 0, 1, 1, 0, 1],
        }
    )


def sklearn_predictor() -> SklearnPredictor:
    encode = ColumnTransformer(
        [("carrier", OneHotEncoder(handle_unknown="ignore"), ["carrier"])],
        remainder="passthrough",
    )
    pipeline = Pipeline([("encode", encode), ("model", LogisticRegression())])
    table = frame()
    pipeline.fit(table[["carrier", "dep_hour"]].astype({"carrier": object}), table["delayed"])
    return SklearnPredictor(pipeline, FEATURES, threshold=0.5)


def torch_predictor() -> TorchPredictor:
    # Imported here, as serving does: a test process that builds no PyTorch model (serve's)
    # never imports torch (about a second and 190 MB).
    import torch

    from model_registry.network import NetworkConfig, WideDeepNet
    from model_registry.torch_predictor import TorchPredictor

    torch.manual_seed(0)
    encoding = TabularEncoding.fit(frame(), ["carrier"], ["dep_hour"])
    config = NetworkConfig(encoding.cardinalities, (2,), numeric=1, hidden=(4,), dropout=0.1)
    return TorchPredictor(encoding, WideDeepNet(config), FEATURES, threshold=0.4)
