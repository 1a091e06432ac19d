"""The artifact check and placement on small packed PEXes made here: what is fresh, what is
missing or stale and the command each message names, and what placing replaces; and the lock
check's reading of `dvc status --json` (tools/dvc_cli_test.py runs it on DVC's own)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from storage.testing import file_size_limit
from tools import artifacts
from tools.artifacts import (
    ArtifactError,
    artifacts_in,
    check_all,
    main,
    place,
    report_unlocked,
    unlocked,
)
from tools.fake_checkout import DVC_YAML, WHEELS, make_checkout


def test_the_artifacts_are_those_dvc_yaml_runs() -> None:
    (artifact,) = artifacts_in(DVC_YAML)
    assert artifact.address == "services/ingest:ingest"
    assert artifact.package_command == "./pants package services/ingest:ingest"


@pytest.mark.parametrize(
    "deps",
    [
        "      - dist/services.ingest/ingest.pex\n",
        # Before, each of these was no artifact: the check passed ("0 up to date") and DVC ran
        # the stale PEX.
        "      - dist/services.ingest/ingest.pex  # the service's code\n",
        '      - "dist/services.ingest/ingest.pex"\n',
        "      - 'dist/services.ingest/ingest.pex'\n",
        "      [dist/services.ingest/ingest.pex, data/landing]\n",
    ],
)
def test_an_artifact_is_found_however_yaml_lists_it(deps: str) -> None:
    dvc_yaml = (
        "# dist/dvc.pex, in a comment, is no stage's artifact\n"
        "stages:\n  land:\n    cmd: dist/services.ingest/ingest.pex/__main__.py land\n"
        f"    deps:\n{deps}"
    )
    assert [a.address for a in artifacts_in(dvc_yaml)] == ["services/ingest:ingest"]


def test_fresh_artifacts_pass(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [a.address for a in check_all(repo)] == ["services/ingest:ingest"]
    assert main(["check", "--repo", str(repo)]) == 0
    assert capsys.readouterr().out == "artifacts: 1 up to date (services/ingest:ingest)\n"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("edit a lib file", "libs/storage/storage/atomic.py changed since it was built"),
        ("delete a service file", "carries ingest/cli.py, which the checkout no longer has"),
        ("relock", "carries pyyaml==6.0.2, which 3rdparty/python/default.lock no longer locks"),
        ("remove the pex", "dist/services.ingest/ingest.pex is missing (a stage runs it)"),
        ("a file for the pex", "ingest.pex is not a packed PEX: it has no PEX-INFO"),
        ("truncate PEX-INFO", "ingest.pex is damaged: its PEX-INFO cannot be read"),
        ("empty PEX-INFO", "ingest.pex is damaged: its PEX-INFO cannot be read (it lists no"),
        # Before, a PEX an interrupted build (or a hand) left without these was up to date.
        ("delete the entry point", "ingest.pex is stale: it lacks ingest/cli.py (its PEX-INFO's"),
        ("delete an imported lib", "lacks storage/atomic.py (ingest/cli.py imports it)"),
        ("move a wheel out", "is incomplete: it lacks .deps/PyYAML-6.0.2-cp311-cp311-manylinux"),
        ("delete __main__.py", "ingest.pex is incomplete: it lacks __main__.py"),
        ("delete the bootstrap", "ingest.pex is incomplete: it lacks .bootstrap"),
    ],
)
def test_a_stale_or_missing_artifact_names_the_package_command(
    repo: Path, damage: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if damage == "edit a lib file":
        (repo / "libs/storage/storage/atomic.py").write_text("ATOMIC = False\n")
    elif damage == "delete a service file":
        (repo / "services/ingest/ingest/cli.py").unlink()
    elif damage == "relock":
        lock = json.dumps({"locked_resolves": [{"locked_requirements": [
            {"project_name": "pyyaml", "version": "6.0.3"}]}]})  # fmt: skip
        (repo / "3rdparty/python/default.lock").write_text(lock)
    elif damage == "remove the pex":
        shutil.rmtree(repo / "dist/services.ingest/ingest.pex")
    elif damage == "a file for the pex":
        shutil.rmtree(repo / "dist/services.ingest/ingest.pex")
        (repo / "dist/services.ingest/ingest.pex").write_text("not a PEX")
    elif damage == "truncate PEX-INFO":
        info = repo / "dist/services.ingest/ingest.pex/PEX-INFO"
        info.write_text(info.read_text()[:10])
    elif damage == "empty PEX-INFO":
        (repo / PEX / "PEX-INFO").write_text("{}")
    elif damage == "delete the entry point":
        (repo / PEX / "ingest/cli.py").unlink()
    elif damage == "delete an imported lib":
        (repo / PEX / "storage/atomic.py").unlink()
    elif damage == "move a wheel out":
        (repo / PEX / ".deps" / WHEELS[0]).rename(repo / WHEELS[0])
    elif damage == "delete __main__.py":
        (repo / PEX / "__main__.py").unlink()
    else:
        (repo / PEX / ".bootstrap").unlink()
    with pytest.raises(ArtifactError, match="run `./pants package services/ingest:ingest`"):
        check_all(repo)
    assert main(["check", "--repo", str(repo)]) == 1
    assert message in capsys.readouterr().err


def built_copy(repo: Path, tmp_path: Path, changed: bool = True) -> Path:
    """What a Pants run built, for `place`: the repo's dist/, with the ingest PEX rebuilt (its
    PEX-INFO changed) when `changed`."""
    built = tmp_path / "built"
    shutil.copytree(repo / "dist", built)
    if changed:
        info = {"distributions": {}, "code_hash": "new"}
        (built / PEX[5:] / "PEX-INFO").write_text(json.dumps(info))
    return built


def test_place_copies_what_changed_and_leaves_the_rest(repo: Path, tmp_path: Path) -> None:
    built = built_copy(repo, tmp_path, changed=False)
    target = repo / "dist/services.ingest/ingest.pex"
    marker = target / "ingest/left-alone"
    marker.write_text("same PEX-INFO: not copied again")
    place(repo, built)
    assert marker.is_file()
    info = built / "services.ingest/ingest.pex/PEX-INFO"
    info.write_text(json.dumps({"distributions": {}, "code_hash": "new"}))
    place(repo, built)
    assert not marker.exists()
    assert (target / "PEX-INFO").read_text() == info.read_text()
    assert not list(target.parent.glob("*.partial"))


def write_wheels(deps: Path) -> None:
    """A clean wheel zip and jinja2's carrying bytecode in the packed PEX's `deps`."""
    deps.mkdir(exist_ok=True)
    wheels = {
        "clean-1.0-py3-none-any.whl": ["clean/__init__.py"],
        "jinja2-3.1.6-py3-none-any.whl": ["jinja2/__init__.py", "jinja2/__pycache__/x.pyc"],
    }
    for name, members in wheels.items():
        with zipfile.ZipFile(deps / name, "w") as wheel:
            for member in members:
                wheel.writestr(member, "")


def test_place_warns_of_a_pex_carrying_bytecode(repo: Path, tmp_path: Path) -> None:
    """pex zipped a wheel after a test venv wrote its __pycache__: the PEX's hash, and the
    dvc.lock written with it, were this machine's (the train PEX differed from a clean build's
    by 367 KB of jinja2, markupsafe and pathspec bytecode)."""
    built = built_copy(repo, tmp_path)
    write_wheels(built / PEX[5:] / ".deps")
    warnings: list[str] = []
    place(repo, built, warnings.append)  # replaced
    place(repo, built, warnings.append)  # left in place: its PEX-INFO does not tell
    assert len(warnings) == 2
    for warning in warnings:
        assert warning.startswith(
            "artifacts: warning: services/ingest:ingest carries Python bytecode in "
            "jinja2-3.1.6-py3-none-any.whl: "
        )


def test_place_names_an_artifact_the_run_did_not_build(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        ArtifactError, match="did not build services/ingest:ingest.*PIPELINE_ARTIFACTS"
    ):
        place(repo, tmp_path / "empty")


def test_place_names_a_built_directory_that_is_not_there(repo: Path, tmp_path: Path) -> None:
    # Before, it was read as a run that built nothing, and PIPELINE_ARTIFACTS was blamed.
    with pytest.raises(ArtifactError, match=f"--built {tmp_path / 'absent'} is not a directory"):
        place(repo, tmp_path / "absent")


def test_place_on_a_full_disk_names_the_artifact_and_keeps_the_placed_one(
    repo: Path, tmp_path: Path
) -> None:
    built = built_copy(repo, tmp_path)
    info = built / "services.ingest/ingest.pex/PEX-INFO"
    (info.parent / "ingest/big.py").write_text("#" * 8192)
    before = (repo / PEX / "PEX-INFO").read_text()
    # A real write failure (EFBIG past the file size limit), as a full disk fails it: before,
    # shutil's traceback, and the half-copied PEX left beside the placed one.
    with file_size_limit(4096), pytest.raises(ArtifactError) as failed:
        place(repo, built)
    assert str(failed.value).startswith(
        f"cannot place services/ingest:ingest in {PEX}: [Errno 27] File too large"
    )
    assert str(failed.value).endswith("; it is left as it was")
    assert (repo / PEX / "PEX-INFO").read_text() == before
    assert not list((repo / PEX).parent.glob("*.partial"))


def test_a_pex_without_first_party_code_its_code_does_not_import_is_fresh(repo: Path) -> None:
    # Pants packs the modules the code imports, not every file of a package: the checkout's
    # other modules, and modules no longer imported, are not looked for.
    (repo / "libs/storage/storage/digest.py").write_text("DIGEST = 1\n")
    (repo / "libs/storage/storage/__init__.py").write_text("")
    (repo / PEX / "ingest/cli.py").write_text("import storage\nimport yaml\nprint('land')\n")
    (repo / "services/ingest/ingest/cli.py").write_text(
        "import storage\nimport yaml\nprint('land')\n"
    )
    (repo / PEX / "storage/atomic.py").unlink()
    (repo / "libs/storage/storage/atomic.py").unlink()
    check_all(repo)


def test_place_replaces_a_zipapp_pex(repo: Path, tmp_path: Path) -> None:
    built = built_copy(repo, tmp_path, changed=False)
    shutil.rmtree(repo / PEX)
    (repo / PEX).write_bytes(b"PK\x05\x06" + bytes(18))  # a zipapp PEX: one (empty) zip file
    # Before, NotADirectoryError, and ingest.pex.partial left beside it.
    place(repo, built)
    assert (repo / PEX / "PEX-INFO").read_bytes() == (built / PEX[5:] / "PEX-INFO").read_bytes()
    check_all(repo)
    assert sorted(p.name for p in (repo / PEX).parent.iterdir()) == ["ingest.pex"]


@contextlib.contextmanager
def immutable(path: Path, moved_to: Path | None = None) -> Iterator[None]:
    """`path` can be neither moved nor changed, even by root (the ext4 immutable attribute);
    nor, if it is a directory, can anything in it be removed. Made mutable again afterwards
    where it is then: at `moved_to` if the block moves it (its parent moved) there."""
    if shutil.which("chattr") is None or os.geteuid() != 0:
        pytest.skip("needs root and chattr, to make a directory root cannot move")
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip(f"chattr +i is not supported under {path}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(moved_to or path)], check=True)


def test_place_names_a_pex_it_cannot_replace_and_leaves_no_partial_copy(
    repo: Path, tmp_path: Path
) -> None:
    built = built_copy(repo, tmp_path)
    before = (repo / PEX / "PEX-INFO").read_text()
    # Before, the failed removal passed silently and the rename raised OSError, with
    # ingest.pex.partial left beside the old PEX.
    with immutable(repo / PEX), pytest.raises(ArtifactError) as failed:
        place(repo, built)
    assert str(failed.value) == (
        f"cannot place services/ingest:ingest in {PEX}: cannot replace {repo / PEX}: "
        "Operation not permitted"
    )
    assert (repo / PEX / "PEX-INFO").read_text() == before
    assert sorted(p.name for p in (repo / PEX).parent.iterdir()) == ["ingest.pex"]


def test_a_replaced_pex_that_cannot_be_removed_is_named_and_the_new_one_stays_placed(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = built_copy(repo, tmp_path)
    old = repo / f"{PEX}.old"
    # Its files cannot be removed. Before, the new PEX was placed, yet `place` failed saying it
    # could not replace the old one, and left ingest.pex.old beside it unnamed.
    with immutable(repo / PEX / "ingest", moved_to=old / "ingest"):
        assert main(["place", "--repo", str(repo), "--built", str(built)]) == 0
        assert old.is_dir()
        assert (repo / PEX / "PEX-INFO").read_bytes() == (built / PEX[5:] / "PEX-INFO").read_bytes()
        check_all(repo)
        assert capsys.readouterr().err == (
            f"artifacts: placed services/ingest:ingest in {PEX}, but cannot remove the PEX it "
            f"replaced, {PEX}.old (Operation not permitted): nothing runs it; the next place "
            "removes it\n"
        )
        # A later PEX needs the name aside: it is not placed, and the leftover is named.
        (built / PEX[5:] / "PEX-INFO").write_text(json.dumps({"code_hash": "later"}))
        with pytest.raises(ArtifactError) as failed:
            place(repo, built)
        assert str(failed.value) == (
            f"cannot place services/ingest:ingest in {PEX}: cannot replace {old}: "
            "Operation not permitted"
        )
        assert json.loads((repo / PEX / "PEX-INFO").read_text())["code_hash"] == "new"


def test_an_unchanged_pex_beside_an_earlier_runs_pex_it_cannot_remove_says_so(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before, the warning said this place "cannot remove the PEX it replaced", though it
    # replaced nothing: the PEX was unchanged, the one aside an earlier run's.
    built = built_copy(repo, tmp_path, changed=False)
    shutil.copytree(repo / PEX, repo / f"{PEX}.old")
    with immutable(repo / f"{PEX}.old" / "ingest"):
        assert main(["place", "--repo", str(repo), "--built", str(built)]) == 0
        assert (repo / f"{PEX}.old" / "ingest").is_dir()
    assert capsys.readouterr().err == (
        f"artifacts: services/ingest:ingest in {PEX} is unchanged, but cannot remove the PEX an "
        f"earlier run replaced, {PEX}.old (Operation not permitted): nothing runs it; the next "
        "place removes it\n"
    )


@pytest.mark.parametrize("changed", [True, False], ids=["pex changed", "pex unchanged"])
def test_place_names_a_replaced_pex_an_earlier_run_left_and_removes_it(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], changed: bool
) -> None:
    # Before, only a place that replaced the PEX again removed it: with the same PEX built,
    # it stayed. Then it was removed without a word, as a stale .partial was named.
    built = built_copy(repo, tmp_path, changed=changed)
    shutil.copytree(repo / PEX, repo / f"{PEX}.old")
    (repo / f"{PEX}.old" / "PEX-INFO").write_text(json.dumps({"code_hash": "old"}))
    marker = repo / PEX / "ingest/left-alone"
    marker.write_text("same PEX-INFO: not copied again")
    place(repo, built)
    assert marker.is_file() is not changed
    assert sorted(p.name for p in (repo / PEX).parent.iterdir()) == ["ingest.pex"]
    assert (repo / PEX / "PEX-INFO").read_bytes() == (built / PEX[5:] / "PEX-INFO").read_bytes()
    assert capsys.readouterr().err == (
        f"artifacts: removed {PEX}.old, a PEX of services/ingest:ingest an earlier run replaced "
        "and left; nothing ran it\n"
    )


@pytest.mark.parametrize("changed", [True, False], ids=["pex changed", "pex unchanged"])
def test_place_names_a_partial_copy_an_interrupted_run_left_and_removes_it(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], changed: bool
) -> None:
    # Before, it was removed without a word when the PEX changed, and left when it had not.
    built = built_copy(repo, tmp_path, changed=changed)
    shutil.copytree(repo / PEX, repo / f"{PEX}.partial")
    (repo / f"{PEX}.partial" / "PEX-INFO").unlink()  # the copy stopped before its last file
    place(repo, built)
    assert capsys.readouterr().err == (
        f"artifacts: removed {PEX}.partial, a copy of services/ingest:ingest left by an "
        "interrupted run; nothing ran it\n"
    )
    assert sorted(p.name for p in (repo / PEX).parent.iterdir()) == ["ingest.pex"]
    assert (repo / PEX / "PEX-INFO").read_bytes() == (built / PEX[5:] / "PEX-INFO").read_bytes()


def test_place_names_a_partial_copy_it_cannot_remove_and_keeps_the_placed_pex(
    repo: Path, tmp_path: Path
) -> None:
    # Before, copying into it failed with "[Errno 17] File exists", not saying what it was.
    built = built_copy(repo, tmp_path)
    shutil.copytree(repo / PEX, repo / f"{PEX}.partial")
    before = (repo / PEX / "PEX-INFO").read_text()
    with immutable(repo / f"{PEX}.partial" / "ingest"), pytest.raises(ArtifactError) as failed:
        place(repo, built)
    # Then the message said it was "left as it was", though the files outside ingest/ were gone.
    assert str(failed.value) == (
        f"cannot place services/ingest:ingest in {PEX}: cannot remove {PEX}.partial, a copy an "
        "interrupted run left (Operation not permitted); what of it could not be removed is "
        "left there"
    )
    assert not (repo / f"{PEX}.partial" / "PEX-INFO").exists()
    assert (repo / PEX / "PEX-INFO").read_text() == before


def test_an_older_python_is_told_which_python_the_script_needs(repo: Path) -> None:
    """Run as a file by a Python without tomllib (3.9, 3.10): a line saying so, not a traceback.
    A 3.9 or 3.10 on PATH runs it as it is; without one, this Python runs it with tomllib
    made unimportable, as on those Pythons."""
    script = str(Path(artifacts.__file__))
    runs = [
        [python, script, "check", "--repo", str(repo)]
        for python in filter(None, map(shutil.which, ("python3.10", "python3.9")))
        if subprocess.run(
            [python, "-c", "import sys; sys.exit(sys.version_info >= (3, 11))"],
            capture_output=True,
        ).returncode
        == 0
    ][:1]
    runs.append([
        sys.executable, "-c",
        "import runpy, sys; sys.modules['tomllib'] = None; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')",
        script, "check", "--repo", str(repo),
    ])  # fmt: skip
    for argv in runs:
        run = subprocess.run(argv, capture_output=True, text=True)
        assert run.returncode == 1, run.stderr
        assert run.stderr.startswith("artifacts: tools/artifacts.py needs Python 3.11 or later")
        assert run.stderr.count("\n") == 1, run.stderr


PEX = "dist/services.ingest/ingest.pex"


def locked(repo: Path, status: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    """`artifacts.py locked` with `status` as JSON on stdin."""
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(status)))
    return main(["locked", "--repo", str(repo)])


def test_the_lock_check_names_each_stale_artifact_and_the_stages_that_run_it(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status = {
        "land": [
            "always changed",
            {"changed deps": {"data/raw": "deleted", PEX: "modified"}},
            {"changed outs": {"data/landing": "not in cache"}},
        ],
        "curate": [{"changed deps": {PEX: "modified"}}],
    }
    assert locked(repo, status, monkeypatch) == 1
    assert capsys.readouterr().err == (
        f"artifacts: dvc.lock does not record {PEX} as this checkout builds it (modified for "
        "stages land, curate): run the pipeline (`./pants run //:main`) and commit the dvc.lock "
        "it writes\n"
    )


def test_the_lock_check_of_a_pex_carrying_bytecode_says_so_not_to_commit_the_lock(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PEX whose wheels pex zipped after a test wrote their bytecode differs from a clean
    build: the check said to run the pipeline and commit the dvc.lock it writes, which would
    have recorded this machine's hash for every other machine to fail on."""
    write_wheels(repo / PEX / ".deps")
    assert locked(repo, {"land": [{"changed deps": {PEX: "modified"}}]}, monkeypatch) == 1
    assert capsys.readouterr().err == (
        f"artifacts: dvc.lock does not record {PEX} as this checkout builds it (modified for "
        "stage land): it carries Python bytecode in jinja2-3.1.6-py3-none-any.whl: pex zipped "
        "those wheels from its cache after a test's venv wrote their __pycache__, so this PEX, "
        "and a dvc.lock written with it, differ from a clean machine's build (ADR 0011 says how "
        "to rebuild clean); do not commit a dvc.lock written with it\n"
    )


def test_the_lock_check_passes_when_only_data_changed_or_an_artifact_was_not_built(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status = {
        "land": [{"changed deps": {"data/raw": "deleted", PEX: "deleted"}}, "changed command"]
    }
    assert unlocked(repo, status) == []
    assert locked(repo, {}, monkeypatch) == 0
    assert "dvc.lock records the artifacts in dist/" in capsys.readouterr().out


@given(st.text())
def test_the_lock_check_refuses_anything_but_a_status_object(text: str) -> None:
    with contextlib.suppress(json.JSONDecodeError):
        assume(not isinstance(json.loads(text), dict))
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        # The repo is never read: the input is refused first.
        assert report_unlocked(Path("no-repo"), text) == 2
    assert stderr.getvalue().startswith("artifacts: expected `dvc status --json` on stdin, got ")


@pytest.mark.parametrize(
    "status",
    [
        {"train": 5},
        {"train": None},
        {"train": [{"changed deps": []}]},
        {"train": [{"changed deps": {"dist/services.train/train.pex": ["modified"]}}]},
        {"train": [3]},
    ],
)
def test_the_lock_check_names_a_stage_of_another_shape(
    repo: Path, status: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    assert report_unlocked(repo, json.dumps(status)) == 2
    assert "expected `dvc status --json` on stdin, got stage 'train' with " in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("content", [None, "[source\n", "[python]\n"])
def test_a_missing_or_unreadable_pants_toml_is_named(
    repo: Path, content: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    if content is None:
        (repo / "pants.toml").unlink()
    else:
        (repo / "pants.toml").write_text(content)
    assert main(["check", "--repo", str(repo)]) == 1
    what = "" if content is None else "the source roots of "
    assert f"artifacts: cannot read {what}{repo / 'pants.toml'}" in capsys.readouterr().err


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=10,
)
PEX_INFOS = (
    st.binary(max_size=200)
    | JSON_VALUES.map(lambda value: json.dumps(value).encode())
    | JSON_VALUES.map(lambda value: json.dumps({"distributions": value}).encode())
)


@given(st.dictionaries(st.text(max_size=5), JSON_VALUES))
def test_the_lock_check_answers_any_json_object_or_refuses_its_shape(
    status: dict[str, object],
) -> None:
    # Before, {"train": 5} or a list of changed deps raised TypeError or AttributeError.
    stderr = io.StringIO()
    with tempfile.TemporaryDirectory() as directory, contextlib.redirect_stderr(stderr):
        make_checkout(Path(directory))
        with contextlib.redirect_stdout(io.StringIO()):
            code = report_unlocked(Path(directory), json.dumps(status))
    assert code in (0, 1, 2)
    if code == 2:
        assert stderr.getvalue().startswith("artifacts: expected `dvc status --json` on stdin, ")


@given(PEX_INFOS)
def test_any_pex_info_is_read_or_named_damaged(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        repo = Path(directory)
        make_checkout(repo)
        (repo / "dist/services.ingest/ingest.pex/PEX-INFO").write_bytes(content)
        try:
            check_all(repo)
        except ArtifactError as problem:
            assert "dist/services.ingest/ingest.pex is " in str(problem)


@pytest.mark.parametrize("command", ["check", "place", "locked"])
def test_a_repo_without_dvc_yaml_is_named(
    tmp_path: Path,
    command: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("{}"))  # `locked` reads DVC's status there
    args = [command, "--repo", str(tmp_path), "--built", str(tmp_path)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 1
    assert (
        f"artifacts: cannot read {tmp_path / 'dvc.yaml'} (No such file" in capsys.readouterr().err
    )


def test_an_unreadable_lockfile_is_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "3rdparty/python/default.lock").write_text("// header\n{")
    assert main(["check", "--repo", str(repo)]) == 1
    assert "cannot read what 3rdparty/python/default.lock locks" in capsys.readouterr().err
