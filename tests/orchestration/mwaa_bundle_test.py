"""The MWAA bundle: dags.zip holds the DAG files at its root, their package and a copy of
dvc.yaml, and Airflow loads both DAGs from it alone (no checkout beside it), with the local
runner and with the ecs runner MWAA uses; requirements.txt parses, starts with MWAA's
constraints and never pins apache-airflow."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from airflow.models.dagbag import DagBag

from flight_orchestration import settings
from flight_orchestration.pipeline import DAG_ID as PIPELINE
from flight_orchestration.retrain import DAG_ID as RETRAIN
from mwaa_bundle import (
    REQUIREMENTS,
    BundleError,
    airflow_version,
    main,
    package,
    requirements_txt,
    shipped_requirements,
)
from tests.orchestration.conftest import DAG_FOLDER, SANDBOX_ROOT
from tests.orchestration.ecs_settings import ECS_SETTINGS, SAGEMAKER

# The repo's own top-level packages and modules on the test's sys.path.
FIRST_PARTY = ("flight_orchestration", "storage", "loopback", "mwaa_bundle.py", "tests")
REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+$")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    output = tmp_path_factory.mktemp("mwaa")
    return package(SANDBOX_ROOT, output)


def test_the_zip_holds_the_dags_their_package_and_the_pipeline(bundle: tuple[Path, Path]) -> None:
    dags, _ = bundle
    names = set(zipfile.ZipFile(dags).namelist())
    assert {"flight_delay_pipeline.py", "flight_delay_retrain_on_drift.py"} <= names
    assert {
        "flight_orchestration/__init__.py",
        "flight_orchestration/pipeline.py",
        "flight_orchestration/retrain.py",
        "flight_orchestration/drift.py",
        "flight_orchestration/dvc.yaml",
        "flight_orchestration/params.yaml",
    } <= names
    assert not [n for n in names if n.endswith("_test.py") or "__pycache__" in n]
    for definition in ("dvc.yaml", "params.yaml"):
        bundled = zipfile.ZipFile(dags).read(f"flight_orchestration/{definition}")
        assert bundled == (SANDBOX_ROOT / definition).read_bytes()


def test_the_same_sources_give_the_same_zip(bundle: tuple[Path, Path], tmp_path: Path) -> None:
    again, _ = package(SANDBOX_ROOT, tmp_path)
    assert again.read_bytes() == bundle[0].read_bytes()


def test_airflow_loads_both_dags_from_the_zip_alone(
    bundle: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db: None
) -> None:
    monkeypatch.delenv("AIRFLOW_VAR_FLIGHT_DELAY_REPO", raising=False)
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "flight_delay.zip").write_bytes(bundle[0].read_bytes())
    bag = DagBag(dag_folder=str(folder), include_examples=False)
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {PIPELINE, RETRAIN}
    pipeline = bag.get_dag(PIPELINE)
    assert pipeline is not None and "evaluate" in pipeline.task_ids
    # The same in a Python that sees only third-party packages, as MWAA's workers do: a DAG
    # that imported the repo's other code (libs/) would fail there, not in this process (which
    # has the DAG folder's package imported already, so it never reads the zip's).
    third_party = [p for p in sys.path if p and not any(Path(p, n).exists() for n in FIRST_PARTY)]
    parse = (
        "import json, sys; from airflow.models.dagbag import DagBag; "
        "bag = DagBag(dag_folder=sys.argv[1], include_examples=False); "
        "errors = {k: str(v) for k, v in bag.import_errors.items()}; "
        "dag = bag.get_dag(sys.argv[2]); "
        "train = type(dag.get_task('train')) if dag else None; "
        "where = sys.modules[train.__module__].__file__ if train else None; "
        "print(json.dumps([sorted(bag.dag_ids), errors, train and train.__name__, where]))"
    )
    runner = settings.environment_variable(settings.RUNNER_VARIABLE)
    ecs = settings.environment_variable(settings.ECS_VARIABLE)
    local = {k: v for k, v in os.environ.items() if k not in (runner, ecs)}
    # And as MWAA's startup script sets the runner: the ecs runner, whose operators are in a
    # module the pipeline imports only then, and training as a SageMaker job.
    ecs_settings = json.dumps({**ECS_SETTINGS, "sagemaker": SAGEMAKER})
    on_mwaa = {**local, runner: settings.ECS_RUNNER, ecs: ecs_settings}
    zipped = folder / "flight_delay.zip"
    for environment, operator, module in (
        (local, "ArtifactOperator", zipped / "flight_orchestration" / "pipeline.py"),
        (on_mwaa, "SageMakerTrainingStageOperator", zipped / "flight_orchestration" / "runners.py"),
    ):
        alone = subprocess.run(
            [sys.executable, "-c", parse, str(folder), PIPELINE],
            env={**environment, "PYTHONPATH": os.pathsep.join(map(os.path.abspath, third_party))},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert alone.returncode == 0, alone.stderr[-3000:]
        parsed = json.loads(alone.stdout.splitlines()[-1])
        assert parsed == [sorted([PIPELINE, RETRAIN]), {}, operator, str(module)]


def test_requirements_parse_and_never_pin_airflow(bundle: tuple[Path, Path]) -> None:
    _, requirements = bundle
    lines = [line.strip() for line in requirements.read_text().splitlines()]
    options = [line for line in lines if line.startswith("--")]
    pinned = airflow_version((SANDBOX_ROOT / REQUIREMENTS).read_text())
    assert options == [
        '--constraint "https://raw.githubusercontent.com/apache/airflow/'
        f'constraints-{pinned}/constraints-3.11.txt"'
    ]
    pins = [line for line in lines if line and not line.startswith(("#", "--"))]
    assert all(REQUIREMENT.match(pin) for pin in pins), pins
    assert not [pin for pin in pins if pin.lower().startswith("apache-airflow")]


def test_only_the_mwaa_section_ships() -> None:
    text = "apache-airflow==2.10.3\n# [mwaa] shipped\nhttpx>=0.27\n# [test]\npytest\n"
    assert shipped_requirements(text) == ["httpx"]


def test_shipping_airflow_or_an_unlocked_package_is_an_error(tmp_path: Path) -> None:
    for relative in ("3rdparty/python/airflow.lock", "dvc.yaml"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes((SANDBOX_ROOT / relative).read_bytes())
    requirements = tmp_path / "3rdparty/python/airflow-requirements.txt"
    requirements.write_text("# [mwaa]\napache-airflow==2.10.3\n")
    with pytest.raises(BundleError, match="apache-airflow must not ship"):
        requirements_txt(tmp_path)
    requirements.write_text("apache-airflow==2.10.3\n# [mwaa]\nno-such-package\n")
    with pytest.raises(BundleError, match="lacks no-such-package"):
        requirements_txt(tmp_path)
    requirements.write_text("apache-airflow>=2.10\n")
    with pytest.raises(BundleError, match="must pin apache-airflow==<version> exactly once"):
        requirements_txt(tmp_path)


def test_a_failed_package_leaves_the_previous_bundle_as_it_was(
    bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    dags, requirements = bundle
    output = tmp_path / "out"
    output.mkdir()
    previous = {"dags.zip": dags.read_bytes(), "requirements.txt": requirements.read_bytes()}
    for name, data in previous.items():
        (output / name).write_bytes(data)
    # A checkout whose lockfile is fine but whose DAG package is missing: the zip fails after
    # requirements.txt could have been written.
    repo = tmp_path / "repo"
    for relative in ("3rdparty/python/airflow.lock", REQUIREMENTS, "dvc.yaml", "params.yaml"):
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_bytes((SANDBOX_ROOT / relative).read_bytes())
    with pytest.raises(BundleError, match="is not the platform repo"):
        package(repo, output)
    assert {p.name: p.read_bytes() for p in output.iterdir()} == previous
    (repo / "3rdparty/python/airflow.lock").write_text('{"locked_resolves": [{}]}')
    with pytest.raises(BundleError, match="airflow.lock is not a Pants lockfile"):
        package(repo, output)
    assert {p.name: p.read_bytes() for p in output.iterdir()} == previous


def test_the_cli_outside_the_repo_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--repo", str(tmp_path), "--output", str(tmp_path / "out")]) == 2
    package = tmp_path / "orchestration/dags/flight_orchestration"
    assert capsys.readouterr().err == (
        f"mwaa bundle: {tmp_path} is not the platform repo: {package} does not exist (run from "
        "the repo root, or give it as --repo)\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("output", "refused"),
    [
        ("", "--output '' names no file or directory of its own"),
        (".", "--output '.' names no file or directory of its own"),
        ("{tmp}/file", "--output '{tmp}/file' is not a directory, and this output is a directory"),
        (str(DAG_FOLDER), f"--output '{DAG_FOLDER}' overlaps the DAG folder '{DAG_FOLDER}'"),
    ],
    ids=["empty", "the current directory", "a file", "the DAG folder"],
)
def test_an_output_the_bundle_cannot_be_written_to_is_refused_writing_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str, refused: str
) -> None:
    # An empty --output wrote dags.zip and requirements.txt into the repo root.
    (tmp_path / "file").write_text("kept")
    before = sorted(SANDBOX_ROOT.iterdir()), sorted(DAG_FOLDER.rglob("*"))
    output = output.format(tmp=tmp_path)
    assert main(["--repo", str(SANDBOX_ROOT), "--output", output]) == 2
    assert capsys.readouterr().err.startswith(f"mwaa bundle: {refused.format(tmp=tmp_path)}")
    assert (sorted(SANDBOX_ROOT.iterdir()), sorted(DAG_FOLDER.rglob("*"))) == before
    assert (tmp_path / "file").read_text() == "kept"
