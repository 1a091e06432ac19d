"""tools/releases.py on real git repositories. tests/devx/workflows_test.py runs the workflow
steps that call it; this covers its bad input and its rules on any history of tags."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workflow_steps import GIT_ENV, git, release_tag, repository
from tools.releases import (
    IMAGE_TAG,
    PROMOTED,
    ROLLED_BACK,
    ReleaseError,
    decide,
    image_tag,
    live_promotions,
    main,
    pick,
    record,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return repository(tmp_path / "repo")


def test_a_bento_tag_s_image_tag_replaces_its_colon() -> None:
    assert image_tag("flight-delay:abc123") == "flight-delay-abc123"
    for bad in ("flight-delay", "flight-delay:", ":abc", "flight delay:abc", ".x:y"):
        with pytest.raises(ReleaseError, match="is not a BentoML tag"):
            image_tag(bad)


# BentoML-tag-like text (a name, a colon, a version), valid or not: plain text alone almost never
# has that shape, so its accepted branch would go unexercised.
tag_like = st.from_regex(r"[A-Za-z0-9_.: -]{0,10}:[A-Za-z0-9_.-]{0,10}", fullmatch=True)


@given(st.text() | tag_like)
def test_any_text_is_refused_or_becomes_a_valid_image_tag(model: str) -> None:
    try:
        tag = image_tag(model)
    except ReleaseError as error:
        assert repr(model) in str(error)
    else:
        assert IMAGE_TAG.fullmatch(tag) and ":" not in tag


def write_registry(directory: Path, content: str) -> Path:
    path = directory / "registry.json"
    path.write_text(content)
    return path


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        json.dumps({"decision": {"reason": "no promoted key"}}),
        json.dumps({"promoted": None}),  # kept, but no reason to say why
        json.dumps({"promoted": 5, "decision": {"reason": "r"}}),
        json.dumps({"promoted": "flight delay:x", "decision": {"reason": "r"}}),
    ],
)
def test_an_unreadable_record_is_an_error_that_names_the_file(
    repo: Path, tmp_path: Path, content: str
) -> None:
    registry = write_registry(tmp_path, content)
    with pytest.raises(ReleaseError, match="registry.json|BentoML tag"):
        decide(registry, repo)


def test_outside_a_repository_nothing_is_decided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the tags, a rolled-back model would read as never deployed."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    registry = write_registry(tmp_path, json.dumps({"promoted": "flight-delay:a"}))
    with pytest.raises(ReleaseError, match="cannot read the release tags"):
        decide(registry, tmp_path)


def test_the_command_prints_an_error_and_no_outputs_on_bad_input(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = write_registry(tmp_path, "{not json")
    monkeypatch.chdir(repo)
    assert main(["decide", str(registry)]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # the step's outputs: none, so no later step runs on a guess
    assert err.startswith(f"::error::{registry} is not the evaluate stage's record")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | tag_like,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["promoted", "decision", "reason"]), inner, max_size=3),
    max_leaves=6,
)
# Records of the evaluate stage's shape, with a promoted model or none: the ones a deploy decides.
records = st.fixed_dictionaries(
    {
        "promoted": tag_like | st.sampled_from(["", None]),
        "decision": st.fixed_dictionaries({"reason": st.text(max_size=12)}),
    }
)


@settings(max_examples=60)
@given(json_values | records)
def test_any_record_is_decided_or_refused_with_a_reason(record_value: Any) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = repository(Path(directory) / "repo")
        registry = write_registry(Path(directory), json.dumps(record_value))
        try:
            outputs, why = decide(registry, root)
        except ReleaseError as error:
            assert str(registry) in str(error) or "BentoML tag" in str(error)
            return
    assert why
    if outputs["deploy"] == "true":
        assert outputs["model"] == record_value["promoted"]
        assert IMAGE_TAG.fullmatch(outputs["image_tag"])
    else:
        assert outputs == {"deploy": "false"} and why.startswith("Nothing to deploy")


def test_a_rolled_back_or_serving_model_is_not_restored_on_request(repo: Path) -> None:
    for day, image in enumerate(["a", "b", "c"], start=1):
        release_tag(repo, PROMOTED, image, day)
    release_tag(repo, ROLLED_BACK, "c", 4)
    with pytest.raises(ReleaseError, match="b is the model in service"):
        pick(repo, "b")
    with pytest.raises(ReleaseError, match=r"c was rolled back \(tag rolled-back/c\)"):
        pick(repo, "c")
    assert pick(repo, "a")[0] == {"current": "b", "restore": "a"}


def test_there_is_nothing_to_roll_back_to_without_two_promotions(repo: Path) -> None:
    with pytest.raises(ReleaseError, match="nothing is deployed through promotion yet"):
        pick(repo)
    release_tag(repo, PROMOTED, "a")
    with pytest.raises(ReleaseError, match=r"only one promoted model \(a\)"):
        pick(repo)


histories = st.lists(
    st.tuples(st.sampled_from(["v1", "v2", "v3", "v4"]), st.booleans()),
    max_size=6,
    unique_by=lambda entry: entry[0],
)


@settings(max_examples=40)
@given(histories, st.sampled_from(["", "v1", "v2", "v3", "v4", "-bad", "x y"]))
def test_the_restored_model_is_always_a_live_promotion_other_than_the_current(
    history: list[tuple[str, bool]], requested: str
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = repository(Path(directory) / "repo")
        for day, (image, rolled_back) in enumerate(history, start=1):
            release_tag(root, PROMOTED, image, day)
            if rolled_back:
                release_tag(root, ROLLED_BACK, image, day)
        live = live_promotions(root)
        try:
            outputs, _ = pick(root, requested)
        except ReleaseError:
            # Refused only when there is no previous live promotion, or not the one requested.
            assert requested not in live[1:] if requested else len(live) < 2
            return
    assert live == [image for image, rolled_back in reversed(history) if not rolled_back]
    assert outputs["current"] == live[0]
    assert outputs["restore"] in live[1:]
    assert outputs["restore"] == (requested or live[1])


def test_a_record_tags_head_once_and_refuses_an_invalid_image_tag(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GIT_ENV.items():  # the identity the workflow's git config gives
        if name.startswith("GIT_"):
            monkeypatch.setenv(name, value)
    assert record(repo, PROMOTED, "flight-delay-a", "deployed flight-delay:a") == (
        "refs/tags/promoted/flight-delay-a"
    )
    subjects = git(repo, "tag", "--list", "--format=%(contents:subject)", "promoted/*")
    assert subjects == "deployed flight-delay:a\n"
    with pytest.raises(ReleaseError, match="cannot create refs/tags/promoted/flight-delay-a"):
        record(repo, PROMOTED, "flight-delay-a", "again")
    with pytest.raises(ReleaseError, match="is not an image tag"):
        record(repo, ROLLED_BACK, "$(id)", "bad")
    # Before, a mistyped image was tagged, and decide refused to deploy it ever after.
    with pytest.raises(ReleaseError, match="flight-delay-b as rolled back: it was never promoted"):
        record(repo, ROLLED_BACK, "flight-delay-b", "typo")
    assert git(repo, "tag", "--list", f"{ROLLED_BACK}/*") == ""
    assert record(repo, ROLLED_BACK, "flight-delay-a", "pulled") == (
        "refs/tags/rolled-back/flight-delay-a"
    )
