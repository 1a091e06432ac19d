import json
import subprocess
from pathlib import Path

import pytest

from train.data import TrainingDataError
from train.provenance import (
    UNKNOWN,
    dvc_directory_hash,
    features_split,
    features_weather_lead_hours,
    features_window_days,
    git_state,
)


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


@pytest.mark.parametrize(
    ("stats", "window"),
    [
        ('{"window_days": 14, "psi_threshold": 0.2}', 14),
        (None, None),  # no statistics: SageMaker's split channels, a table made by hand
        ('{"psi_threshold": 0.2}', None),  # a build older than the record
    ],
)
def test_the_features_window_is_the_one_their_statistics_record(
    tmp_path: Path, stats: str | None, window: int | None
) -> None:
    if stats is not None:
        (tmp_path / "stats.json").write_text(stats)
    assert features_window_days(tmp_path) == window
    assert features_window_days(None) is None


@pytest.mark.parametrize(
    ("stats", "named"),
    [
        ("{not json", "stats.json is not readable JSON: "),
        (json.dumps({"window_days": "14"}), "stats.json: 'window_days' must be a whole number"),
        (json.dumps({"window_days": 0}), "stats.json: 'window_days' must be between 1 and 3650"),
        ("[14]", "stats.json is not a JSON object of statistics: it holds a list"),
    ],
)
def test_statistics_whose_window_cannot_be_read_are_named(
    tmp_path: Path, stats: str, named: str
) -> None:
    (tmp_path / "stats.json").write_text(stats)
    with pytest.raises(TrainingDataError) as error:
        features_window_days(tmp_path)
    assert str(error.value).startswith(str(tmp_path / named.split(" ", 1)[0]))
    assert named.split(" ", 1)[1] in str(error.value)


def test_the_features_split_is_the_one_their_summary_records(tmp_path: Path) -> None:
    summary = {"rows_out": 10, "train_end": "2013-09-30", "validation_end": "2013-10-31"}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert features_split(tmp_path) == {"train_end": "2013-09-30", "validation_end": "2013-10-31"}
    # None to read: no directory (per-split channels), no summary, a summary without dates.
    assert features_split(None) is None
    assert features_split(tmp_path / "nowhere") is None
    (tmp_path / "summary.json").write_text(json.dumps({"rows_out": 10}))
    assert features_split(tmp_path) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "not readable JSON"),
        ("[]", "holds a list"),
        ('{"train_end": "2013-09-30"}', "'validation_end' is None, not a date"),
        ('{"train_end": "Sept", "validation_end": "2013-10-31"}', "'train_end' is 'Sept'"),
        (
            '{"train_end": "2013-10-31", "validation_end": "2013-10-31"}',
            "validation_end 2013-10-31 is not after train_end 2013-10-31",
        ),
    ],
)
def test_a_summary_whose_split_cannot_be_read_is_named(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / "summary.json").write_text(text)
    with pytest.raises(TrainingDataError, match=f"summary.json.*{expected}"):
        features_split(tmp_path)


@pytest.mark.parametrize(
    ("stats", "lead"),
    [
        ('{"window_days": 7, "weather_lead_hours": 24}', 24),
        ('{"window_days": 7}', None),
        (None, None),
    ],
)
def test_the_features_weather_lead_is_the_one_their_statistics_record(
    tmp_path: Path, stats: str | None, lead: int | None
) -> None:
    if stats is not None:
        (tmp_path / "stats.json").write_text(stats)
    assert features_weather_lead_hours(tmp_path) == lead
    assert features_weather_lead_hours(None) is None


@pytest.mark.parametrize("lead", ['"24"', "-1", "true", "24.0"])
def test_a_weather_lead_that_is_no_whole_number_of_hours_is_named(
    tmp_path: Path, lead: str
) -> None:
    (tmp_path / "stats.json").write_text(f'{{"weather_lead_hours": {lead}}}')
    with pytest.raises(TrainingDataError, match="stats.json: 'weather_lead_hours' must be a whole"):
        features_weather_lead_hours(tmp_path)
