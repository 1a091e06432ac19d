"""tools/releases.py on real git repositories. tests/devx/workflows_test.py runs the workflow
steps that call it; this covers its bad input and its rules on any history of tags."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.workflow_steps import GIT_ENV, git, release_tag, repository
from tools.releases import (
    IMAGE_TAG,
    PROMOTED,
    RESTORED,
    ROLLED_BACK,
    SERVED_MARK,
    ReleaseError,
    decide,
    image_tag,
    in_service,
    live_image,
    main,
    pick,
    record,
    served,
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


def live(*tags: str) -> str:
    """The live image's tags as the andon cord's step reads them from ECR (describe-images)."""
    return json.dumps(list(tags))


def test_a_rolled_back_or_serving_model_is_not_restored_on_request(repo: Path) -> None:
    for day, image in enumerate(["a", "b", "c"], start=1):
        release_tag(repo, PROMOTED, image, day)
    release_tag(repo, ROLLED_BACK, "c", 4)
    with pytest.raises(ReleaseError, match="b is the model in service"):
        pick(repo, live("b"), "b")
    with pytest.raises(ReleaseError, match=r"c was rolled back \(tag rolled-back/c\)"):
        pick(repo, live("b"), "c")
    assert pick(repo, live("b"), "a")[0] == {"current": "b", "restore": "a"}


def test_there_is_nothing_to_roll_back_to_without_two_promotions(repo: Path) -> None:
    with pytest.raises(ReleaseError, match="nothing is deployed through promotion yet"):
        pick(repo, live("a"))
    release_tag(repo, PROMOTED, "a")
    with pytest.raises(ReleaseError, match="no promoted model served before a is left"):
        pick(repo, live("a"))


def test_the_live_image_is_named_by_its_tags_in_ecr(repo: Path) -> None:
    release_tag(repo, PROMOTED, "m-a", 1)
    assert live_image(live("m-a"), served(repo)) == "m-a"
    # An image with another tag beside its deployment's: the one recorded names it.
    assert live_image(live("latest", "m-a"), served(repo)) == "m-a"
    # Deployed, and its record-promotion job not run yet.
    assert live_image(live("m-b"), served(repo)) == "m-b"
    release_tag(repo, PROMOTED, "m-b", 2)
    for bad, message in (
        ("", "is not the JSON list of the live image's tags"),
        ("m-a", "is not the JSON list of the live image's tags"),
        ('{"m-a": 1}', "is not a JSON list of image tags"),
        ("[1]", "is not a JSON list of image tags"),
        ("null", "the image in service has no tag in ECR"),
        ("[]", "the image in service has no tag in ECR"),
        (live("$(id)"), "is not an image tag"),
        (live("m-a", "m-b"), "the tags m-a, m-b, 2 of them recorded as deployed"),
        (live("x", "y"), "the tags x, y, 0 of them recorded as deployed"),
    ):
        with pytest.raises(ReleaseError, match=re.escape(message)):
            live_image(bad, served(repo))


def test_the_served_mark_of_the_live_image_names_the_same_image(repo: Path) -> None:
    """The deploy job tags a steady image `served-<tag>` too (for ECR's lifecycle policy): the
    live image's two tags, one recorded as deployed or neither yet, are one image."""
    promote(repo, "m-a", 0)
    promote(repo, "m-b", 1)
    assert live_image(live("m-b", f"{SERVED_MARK}m-b"), served(repo)) == "m-b"
    assert pick(repo, live(f"{SERVED_MARK}m-b", "m-b"))[0] == {"current": "m-b", "restore": "m-a"}
    # Rolled out and marked; its record-promotion job not run yet.
    assert live_image(live("m-c", f"{SERVED_MARK}m-c"), served(repo)) == "m-c"
    # Its own tag deleted by hand in ECR: the mark still names it.
    assert live_image(live(f"{SERVED_MARK}m-b"), served(repo)) == "m-b"
    with pytest.raises(ReleaseError, match="the tags m-b, m-c, 2 of them recorded"):
        live_image(live(f"{SERVED_MARK}m-b", "m-c"), [*served(repo), "m-c"])


def test_a_model_whose_image_tag_reads_as_a_served_mark_is_refused() -> None:
    with pytest.raises(ReleaseError, match="reads as the deploy job's mark of a served image"):
        image_tag("served:abc123")
    assert image_tag("serve:abc123") == "serve-abc123"


def test_a_tag_git_cannot_hold_beside_the_live_images_recorded_one_does_not_stop_the_cord(
    repo: Path,
) -> None:
    """Before, any tag of the live image that git cannot hold in a release tag (one added by
    hand in ECR: hotfix.lock, rc.) refused the pull, though the image is named by its recorded
    tag, the only one the record job tags; and one longer than the 128 characters a pushed tag
    has (ECR's API takes up to 300) still did."""
    for second, image in enumerate(["m-a", "m-b"]):
        promote(repo, image, second)
    for other in ("hotfix.lock", "rc.", "a..b", "x" * 300):
        outputs, _ = pick(repo, live(other, "m-b"))
        assert outputs == {"current": "m-b", "restore": "m-a"}
    # Its only tag, unrecorded, is the one the record job would tag: refused, as before.
    with pytest.raises(ReleaseError, match="'m-c.lock' is not an image tag a release tag can"):
        pick(repo, live("m-c.lock"))


@given(json_values.filter(lambda value: value is not None and not isinstance(value, list)))
@example(0).via("describe-images' tags are never a number")
@example({}).via("describe-images' tags are never an object")
def test_any_live_value_but_a_list_or_null_is_refused_as_no_list_of_tags(value: Any) -> None:
    """Before, a falsy value (0, false, "", {}) read as an image with no tag in ECR, an error
    about AWS's image for what was the step's input read wrong."""
    text = json.dumps(value)
    with pytest.raises(ReleaseError, match="is not a JSON list of image tags") as refused:
        live_image(text, [])
    assert repr(text) in str(refused.value)


def test_a_cord_pulled_before_the_deployment_is_recorded_rolls_back_the_live_model(
    repo: Path,
) -> None:
    """Before, the model in service was the newest tag's: pulled between main.yml's rollout of
    m-c and its record-promotion job, the cord took m-b as in service, restored m-a and barred
    m-b, while m-c stayed recorded as promoted and in service."""
    promote(repo, "m-a", 0)
    promote(repo, "m-b", 1)
    # m-c is rolled out; its promotion is not recorded yet.
    assert pull(repo, 2, live=live("m-c")) == {"current": "m-c", "restore": "m-b"}
    promote(repo, "m-c", 3)  # the record-promotion job, late
    assert in_service(repo)[0] == "m-b"
    assert pick(repo, live("m-b"))[0] == {"current": "m-b", "restore": "m-a"}


def test_a_pull_whose_record_failed_is_followed_from_what_is_live(repo: Path) -> None:
    """The rollback was applied and its record job failed: the tags still say m-c, AWS says m-b.
    A second pull goes back from m-b, not from m-c to m-b again."""
    for second, image in enumerate(["m-a", "m-b", "m-c"]):
        promote(repo, image, second)
    assert pick(repo, live("m-b"))[0] == {"current": "m-b", "restore": "m-a"}


def test_only_a_rollback_takes_an_image_in_service_unrecorded(repo: Path) -> None:
    promote(repo, "m-a", 0)
    with clock(1), pytest.raises(ReleaseError, match="--in-service is for rolled-back only"):
        record(repo, RESTORED, "m-b", "andon cord", live=True)
    with clock(1):
        assert record(repo, ROLLED_BACK, "m-b", "andon cord", live=True) == (
            "refs/tags/rolled-back/m-b"
        )


def test_a_pulled_image_applied_again_by_hand_is_pulled_and_the_restore_recorded(
    repo: Path,
) -> None:
    """Before, recording the rollback of an image rolled back once already failed (its tag was
    there), and the record job pushed neither tag: the restore just rolled out went unrecorded."""
    for second, image in enumerate(["m-a", "m-b", "m-c"]):
        promote(repo, image, second)
    assert pull(repo, 3) == {"current": "m-c", "restore": "m-b"}
    # m-c is applied again by hand (`terraform apply` with its digest), then the cord pulled.
    assert pull(repo, 4, live=live("m-c")) == {"current": "m-c", "restore": "m-b"}
    assert git(repo, "tag", "--list", "restored/*").split() == [
        "restored/m-b/20260101T000003Z",
        "restored/m-b/20260101T000004Z",
    ]
    reasons = git(repo, "tag", "--list", "--format=%(contents:subject)", "rolled-back/*")
    assert reasons == "andon cord\n"  # one tag, its first record
    assert in_service(repo)[0] == "m-b"


@contextmanager
def clock(second: int) -> Iterator[None]:
    """git's identity, and its clock at 2026-01-01 plus `second` seconds, for the tags created
    inside: release tags one second apart, as the workflows' jobs create them minutes apart."""
    date = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=second)
    identity = {name: value for name, value in GIT_ENV.items() if name.startswith("GIT_")}
    with mock.patch.dict(os.environ, {**identity, "GIT_COMMITTER_DATE": date.isoformat()}):
        yield


def promote(root: Path, image: str, second: int) -> None:
    """What main.yml's record-promotion job records after a deployment."""
    with clock(second):
        record(root, PROMOTED, image, f"deployed {image}")


def pull(root: Path, second: int, requested: str = "", live: str = "") -> dict[str, str]:
    """The andon cord: its pick, then what its record job records once the restore is out.
    `live`: the live image's tags (default: the recorded one in service)."""
    outputs, _ = pick(root, live or json.dumps(in_service(root)[:1]), requested)
    with clock(second):
        record(root, RESTORED, outputs["restore"], "andon cord")
        record(root, ROLLED_BACK, outputs["current"], "andon cord", live=True)
    return outputs


def test_after_a_chosen_restore_a_second_pull_goes_back_from_the_restored_model(
    repo: Path,
) -> None:
    """Before, the image in service was taken to be the newest promotion not rolled back: after
    m-c was restored on request, a second pull read m-b as in service, re-deployed the live m-c
    and barred the innocent m-b for good."""
    for second, image in enumerate(["m-c", "m-b", "m-a"]):
        promote(repo, image, second)
    assert pull(repo, 3, "m-c") == {"current": "m-a", "restore": "m-c"}
    assert in_service(repo)[0] == "m-c"
    assert pull(repo, 4) == {"current": "m-c", "restore": "m-b"}
    assert in_service(repo)[0] == "m-b"
    with pytest.raises(ReleaseError, match="no promoted model served before m-b is left"):
        pick(repo, live("m-b"))
    assert git(repo, "tag", "--list").split() == [
        "promoted/m-a",
        "promoted/m-b",
        "promoted/m-c",
        "restored/m-b/20260101T000004Z",
        "restored/m-c/20260101T000003Z",
        "rolled-back/m-a",
        "rolled-back/m-c",
    ]


def test_a_model_restored_twice_is_in_service_after_its_second_restore(repo: Path) -> None:
    for second, image in enumerate(["a", "b", "c"]):
        promote(repo, image, second)
    assert pull(repo, 3) == {"current": "c", "restore": "b"}
    promote(repo, "d", 4)
    assert pull(repo, 5, "b") == {"current": "d", "restore": "b"}  # b's second restore
    # What served before b's second restore, not rolled back: b itself, then a.
    assert pick(repo, live("b"))[0] == {"current": "b", "restore": "a"}


@dataclass
class Serving:
    """A model of the serve service: which image each deployment put in service."""

    promoted: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)  # in order, one per deployment
    pulled: set[str] = field(default_factory=set)

    @property
    def current(self) -> str | None:
        return self.served[-1] if self.served else None

    def previous(self) -> str | None:
        """The image served before the current one, not pulled: what a pull restores."""
        for image in reversed(self.served):
            if image != self.current and image not in self.pulled:
                return image
        return None

    def restorable(self, requested: str) -> str | None:
        if not requested:
            return self.previous()
        if requested in self.promoted and requested not in self.pulled | {self.current}:
            return requested
        return None


# A new promotion (recorded at once, or LATE: only after the next event, as when the cord is
# pulled between main.yml's rollout and its record-promotion job), or a pull of the cord with no
# image (""), a promoted one or an invalid one.
LATE = "late"
events = st.lists(
    st.sampled_from([PROMOTED, LATE])
    | st.sampled_from(["", "m-0", "m-1", "m-2", "m-3", "-bad", "x y"]),
    max_size=12,
)


@settings(max_examples=60)
@given(events)
def test_the_cord_always_pulls_the_model_in_service_and_restores_one_served_before(
    history: list[str],
) -> None:
    """Any sequence of promotions and pulls, with or without an image chosen: `pick`'s current
    is the model's image in service, and it restores one neither in service nor rolled back."""
    serving = Serving()
    with tempfile.TemporaryDirectory() as directory:
        root = repository(Path(directory) / "repo")
        unrecorded = ""  # a deployment whose promotion is not recorded yet

        def record_late(second: int) -> str:
            promote(root, unrecorded, second)
            serving.promoted.append(unrecorded)
            return ""

        for step, event in enumerate(history):
            second = 3 * step  # the event's records one second later, a late one's after them
            if event in (PROMOTED, LATE):
                if unrecorded:
                    # main.yml's runs take turns: the last one's record job ran before this one.
                    unrecorded = record_late(second)
                image = f"m-{len(serving.promoted)}"
                serving.served.append(image)
                if event == PROMOTED:
                    promote(root, image, second + 1)
                    serving.promoted.append(image)
                else:
                    unrecorded = image
            else:
                expected = serving.restorable(event)
                in_aws = live(*filter(None, [serving.current]))
                if serving.current is None or expected is None:
                    with pytest.raises(ReleaseError):
                        pull(root, second + 1, event, in_aws)
                else:
                    outputs = pull(root, second + 1, event, in_aws)
                    assert outputs == {"current": serving.current, "restore": expected}
                    assert outputs["restore"] != outputs["current"]
                    assert outputs["restore"] not in serving.pulled
                    serving.pulled.add(serving.current)
                    serving.served.append(expected)
                if unrecorded:
                    unrecorded = record_late(second + 2)
            if not unrecorded and serving.current is not None:
                assert in_service(root)[0] == serving.current


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


def test_a_restore_is_tagged_with_its_time_and_only_of_a_promoted_image(repo: Path) -> None:
    promote(repo, "flight-delay-a", 0)
    never = "flight-delay-b as restored: it was never promoted"
    with clock(1), pytest.raises(ReleaseError, match=never):
        record(repo, RESTORED, "flight-delay-b", "typo")
    # An image restored twice has two tags: each restore is a deployment of its own.
    for second in (1, 61):
        with clock(second):
            ref = record(repo, RESTORED, "flight-delay-a", "restored")
        stamp = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=second)).strftime(
            "%Y%m%dT%H%M%SZ"
        )
        assert ref == f"refs/tags/restored/flight-delay-a/{stamp}"
    assert git(repo, "tag", "--list", f"{RESTORED}/*").split() == [
        "restored/flight-delay-a/20260101T000001Z",
        "restored/flight-delay-a/20260101T000101Z",
    ]


# Text Docker takes as an image tag, and the shapes of it a git ref cannot end in.
docker_tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True) | st.from_regex(
    r"[a-z0-9][a-z0-9.-]{0,8}(\.\.[a-z0-9.-]{0,4}|\.lock|\.)", fullmatch=True
)


@settings(max_examples=60)
@given(docker_tags)
@example("m-c.lock").via("a tag git cannot end a ref with")
def test_any_live_image_the_cord_would_pull_is_refused_or_can_be_tagged_rolled_back(
    tag: str,
) -> None:
    """The rollback job re-deploys before the record job tags the pulled image: a live image
    `pick` takes that git cannot tag (m-c.lock, m..c, m-c.) was restored in AWS, and then its
    record job failed, leaving neither tag, so the tags no longer said what had been served."""
    with tempfile.TemporaryDirectory() as directory:
        root = repository(Path(directory) / "repo")
        promote(root, "m-a", 0)
        try:
            outputs, _ = pick(root, live(tag))
        except ReleaseError as error:
            assert repr(tag) in str(error)
            return
        with clock(1):
            record(root, RESTORED, outputs["restore"], "andon cord")
            record(root, ROLLED_BACK, outputs["current"], "andon cord", live=True)


@settings(max_examples=60)
@given(tag_like)
@example("flight-delay:abc.").via("a version git cannot end a tag with")
@example("flight-delay:a..b").via("a version git cannot hold in a tag")
def test_any_bento_tag_decide_would_deploy_can_be_tagged_promoted(model: str) -> None:
    """main.yml rolls the image out before its record-promotion job tags it: an image tag git
    cannot hold (flight-delay:abc.) would be in service and never recorded as promoted."""
    try:
        image = image_tag(model)
    except ReleaseError:
        return
    with tempfile.TemporaryDirectory() as directory:
        promote(repository(Path(directory) / "repo"), image, 0)
