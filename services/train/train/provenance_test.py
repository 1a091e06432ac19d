import subprocess
from pathlib import Path

from train.provenance import UNKNOWN, dvc_directory_hash, git_state


def test_the_directory_hash_is_the_one_dvc_records(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub" / "b.txt").write_text("b")
    # `dvc add` of this directory with DVC 3.67 wrote this md5 into its .dvc file.
    assert dvc_directory_hash(tmp_path) == "90d9fe10b4a0cddaefbe4549457984d9.dir"


def test_git_state_names_the_commit_and_whether_tracked_files_changed(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("commit", "-q", "-m", "code")
    head = git("rev-parse", "HEAD")
    (tmp_path / "untracked.txt").write_text("ignored by the check")
    assert git_state(tmp_path) == (head, False)
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_state(tmp_path) == (head, True)


def test_outside_a_checkout_the_commit_is_unknown(tmp_path: Path) -> None:
    assert git_state(tmp_path) == (UNKNOWN, False)
