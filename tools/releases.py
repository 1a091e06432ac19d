"""What the deploy job and the andon cord deploy, decided from the promotion gate's record and
the release tags.

Releases are recorded as annotated git tags:
- `promoted/<image tag>` once a deployment of that image succeeded (on the commit that built it);
- `restored/<image tag>/<UTC time, YYYYMMDDTHHMMSSZ>` once the andon cord re-deployed that
  image, one per restore (an image can be restored more than once);
- `rolled-back/<image tag>` once the andon cord pulled that image: never deployed again.
The image tag is the served model's BentoML tag with its colon made a dash (flight-delay:abc123
-> flight-delay-abc123): image tags hold no colon and no slash, nor what git refuses in a tag's
name (`..`, a trailing `.` or `.lock`), since each deployment of one is recorded by a tag.

The tags say what was served, newest first: the newest promotion or restore (by the tag's time)
whose image is not rolled back is the one in service once every deployment is recorded. The
andon cord takes the image in service from AWS instead (the digest the serve module records as
live, and that image's tags in ECR: `--live`), because a deployment is recorded only after it:
pulled between main.yml's rollout and its record-promotion job, the cord took the model before
as the one in service, restored the one before that and barred the wrong one. It restores the
newest image served before the live one, neither rolled back nor the live one: a second pull
goes one further back along what was served. Deployments take one lock, minutes apart, so the
tags' one-second times order them.

    python3 tools/releases.py decide data/evaluation/registry.json   # main.yml, deploy job
    python3 tools/releases.py pick --live TAGS [--requested IMAGE_TAG] # andon-cord.yml
    python3 tools/releases.py record promoted|restored|rolled-back IMAGE_TAG --message TEXT \
        [--in-service]

`decide` and `pick` print their step outputs (`key=value` lines, for $GITHUB_OUTPUT) and say
why on stderr; `record` creates the tag and prints the ref to push. Bad input (an unreadable
record, an invalid or unknown image tag) fails with an `::error::` line that names it.

Standard library only: the andon cord runs it before Pants is set up.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

PROMOTED = "promoted"
RESTORED = "restored"
ROLLED_BACK = "rolled-back"
# The deploy job tags an image `served-<image tag>` in ECR once the service is steady on it, so
# the repository's lifecycle policy keeps it apart from pushes that never served
# (infra/modules/ecr). It names the same image: no image tag of a release starts with it.
SERVED_MARK = "served-"
# Docker's grammar for an image tag.
IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# What of that grammar git refuses in a tag's name (git check-ref-format): the release tags are
# only recorded after the rollout, so an image they cannot name would be served unrecorded.
NOT_IN_GIT_TAG = re.compile(r"\.\.|\.lock$|\.$")


class ReleaseError(Exception):
    """The input names no valid release; the message says what is wrong."""


def image_tag(model: str) -> str:
    """The image tag of a BentoML tag (`name:version`)."""
    name, colon, version = model.partition(":")
    tag = f"{name}-{version}"
    if not (name and colon and version) or not _recordable(tag):
        raise ReleaseError(
            f"{model!r} is not a BentoML tag (name:version) that makes an image tag a release "
            "tag can name"
        )
    if tag.startswith(SERVED_MARK):
        raise ReleaseError(
            f"{model!r} makes the image tag {tag}, which reads as the deploy job's mark of a "
            f"served image ({SERVED_MARK}<image tag>): rename the model"
        )
    return tag


def checked_image_tag(value: str) -> str:
    if not _recordable(value):
        raise ReleaseError(
            f"{value!r} is not an image tag a release tag can name (letters, digits, _ . -, not "
            "starting with . or -, not ending with . or .lock, no '..'; at most 128)"
        )
    return value


def _recordable(tag: str) -> bool:
    return bool(IMAGE_TAG.fullmatch(tag)) and not NOT_IN_GIT_TAG.search(tag)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)


def tagged(root: Path, kind: str, image: str) -> bool:
    found = _git(root, "rev-parse", "-q", "--verify", f"refs/tags/{kind}/{image}")
    # 1 is "no such ref"; anything else (not a repository) must not read as "never released".
    if found.returncode not in (0, 1):
        raise ReleaseError(f"cannot read the release tags in {root}: {found.stderr.strip()}")
    return found.returncode == 0


def _images_tagged(root: Path, kind: str) -> list[str]:
    """The image tags with a `<kind>/` tag, newest first."""
    listed = _git(root, "tag", "--list", f"{kind}/*", "--sort=-creatordate")
    if listed.returncode != 0:
        raise ReleaseError(f"cannot list the release tags in {root}: {listed.stderr.strip()}")
    return [line.removeprefix(f"{kind}/") for line in listed.stdout.split()]


def served(root: Path) -> list[str]:
    """The image of each deployment (a promotion or an andon cord's restore), newest first."""
    listed = _git(
        root,
        "for-each-ref",
        "--sort=-creatordate",
        "--format=%(refname)",
        f"refs/tags/{PROMOTED}/",
        f"refs/tags/{RESTORED}/",
    )
    if listed.returncode != 0:
        raise ReleaseError(f"cannot list the release tags in {root}: {listed.stderr.strip()}")
    # refs/tags/promoted/<image>, refs/tags/restored/<image>/<time>: an image holds no slash.
    return [ref.split("/")[3] for ref in listed.stdout.split()]


def in_service(root: Path, deployed: list[str] | None = None) -> list[str]:
    """The images of the deployments the andon cord has not pulled, newest first (of `deployed`,
    default `served(root)`): the first is the one in service once every deployment is recorded,
    the next other one the one served before it."""
    pulled = set(_images_tagged(root, ROLLED_BACK))
    return [
        image for image in (served(root) if deployed is None else deployed) if image not in pulled
    ]


def _nothing(reason: str) -> tuple[dict[str, str], str]:
    return {"deploy": "false"}, f"Nothing to deploy: {reason}"


def decide(registry: Path, root: Path) -> tuple[dict[str, str], str]:
    """The deploy job's outputs for the evaluate stage's record, and why."""
    if not registry.exists():
        return _nothing("the evaluate stage did not run (its inputs are unchanged)")
    try:
        record = json.loads(registry.read_text())
        promoted = record["promoted"]
        reason = record["decision"]["reason"] if not promoted else ""
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReleaseError(
            f"{registry} is not the evaluate stage's record (promoted, decision.reason): "
            f"{type(error).__name__}: {error}"
        ) from None
    if not promoted:
        return _nothing(f"the gate kept the model in service: {reason}")
    if not isinstance(promoted, str):
        raise ReleaseError(f"{registry}: promoted is {promoted!r}, not a BentoML tag")
    image = image_tag(promoted)
    if tagged(root, ROLLED_BACK, image):
        return _nothing(
            f"{promoted} was rolled back by the andon cord (tag {ROLLED_BACK}/{image}): "
            "not re-deployed"
        )
    if tagged(root, PROMOTED, image):
        return _nothing(f"{promoted} is deployed already (tag {PROMOTED}/{image})")
    outputs = {
        "deploy": "true",
        "image_tag": image,
        "served_tag": SERVED_MARK + image,
        "model": promoted,
    }
    return outputs, f"Deploying {promoted} as image tag {image}"


def live_image(live: str, deployed: list[str]) -> str:
    """The image in service, from the tags ECR holds for the live digest (`live`: the JSON list
    `aws ecr describe-images` gives as imageTags, or null): the one the release tags record as
    served (`deployed`, `served`'s list), else its only tag (a `served-<tag>` mark counting as
    `<tag>`)."""
    try:
        given = json.loads(live)
    except ValueError as error:
        raise ReleaseError(
            f"--live {live!r} is not the JSON list of the live image's tags: {error}"
        ) from None
    if given is None:  # describe-images' null: the image has no tag
        given = []
    if not isinstance(given, list) or not all(isinstance(tag, str) for tag in given):
        raise ReleaseError(f"--live {live!r} is not a JSON list of image tags")
    # An image's served mark names the image by its other tag.
    tags: list[str] = list(dict.fromkeys(tag.removeprefix(SERVED_MARK) for tag in given))
    if not tags:
        raise ReleaseError(
            "the image in service has no tag in ECR, so no deployment of this repository put it "
            "there: restore one by its image tag with a manual apply (docs/runbook.md)"
        )
    # Only the tag returned is recorded, so only it is checked: another one (added by hand in
    # ECR, whose API takes tags of up to 300 characters) does not stop the cord.
    recorded = [tag for tag in tags if tag in deployed]
    if len(recorded) == 1:
        return recorded[0]
    if not recorded and len(tags) == 1:
        # Deployed and not recorded yet: pulled before its record-promotion job ran.
        return checked_image_tag(tags[0])
    raise ReleaseError(
        f"the image in service has the tags {', '.join(tags)}, {len(recorded)} of them recorded "
        "as deployed: which model it serves is ambiguous"
    )


def pick(root: Path, live: str, requested: str = "") -> tuple[dict[str, str], str]:
    """The andon cord's outputs: the model in service (the live image, `live_image`) and the one
    to restore (the newest served before it, not rolled back, unless one is requested)."""
    if requested:
        checked_image_tag(requested)
    if requested and not tagged(root, PROMOTED, requested):
        raise ReleaseError(f"{requested} was never promoted (no tag {PROMOTED}/{requested})")
    if requested and tagged(root, ROLLED_BACK, requested):
        raise ReleaseError(
            f"{requested} was rolled back (tag {ROLLED_BACK}/{requested}): delete that tag "
            "first to restore it on purpose"
        )
    deployed = served(root)
    current = live_image(live, deployed)
    if requested == current:
        raise ReleaseError(f"{requested} is the model in service: there is nothing to roll back")
    if not deployed:
        raise ReleaseError(f"no {PROMOTED}/* tag: nothing is deployed through promotion yet")
    history = in_service(root, deployed)
    # What was served before the live image: the deployments recorded before its newest one,
    # or all of them while its own is not recorded yet.
    before = history[history.index(current) + 1 :] if current in history else history
    before = [image for image in before if image != current]
    if not requested and not before:
        raise ReleaseError(
            f"no promoted model served before {current} is left that is not rolled back: "
            "there is no previous one"
        )
    restore = requested or before[0]
    why = f"Rolling back serve from {current} to {restore}"
    return {"current": current, "restore": restore}, why


def _now(root: Path) -> str:
    """The time git gives a tag created now (GIT_COMMITTER_DATE if set), as a ref can hold it."""
    ident = _git(root, "var", "GIT_COMMITTER_IDENT")
    if ident.returncode != 0:
        raise ReleaseError(f"cannot read git's identity in {root}: {ident.stderr.strip()}")
    seconds = int(ident.stdout.split()[-2])  # "<name> <<email>> <seconds> <zone>"
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def record(root: Path, kind: str, image: str, message: str, live: bool = False) -> str:
    """Tag HEAD `<kind>/<image>` (a restore: `restored/<image>/<time>`); the ref to push. Only
    a promoted image can be restored or rolled back: a mistyped one would otherwise be barred
    from every later deployment, or read as the one in service. `live` rolls back the
    image AWS has in service (the andon cord's `current`), recorded as promoted or not yet.
    An image rolled back already keeps its tag, whose ref is returned."""
    name = f"{kind}/{checked_image_tag(image)}"
    if live and kind != ROLLED_BACK:
        raise ReleaseError(f"--in-service is for {ROLLED_BACK} only, not {kind}")
    if kind != PROMOTED and not live and not tagged(root, PROMOTED, image):
        raise ReleaseError(
            f"cannot record {image} as {kind.replace('-', ' ')}: it was never promoted (no tag "
            f"{PROMOTED}/{image})"
        )
    if kind == RESTORED:
        name = f"{name}/{_now(root)}"
    ref = f"refs/tags/{name}"
    if kind == ROLLED_BACK and tagged(root, ROLLED_BACK, image):
        # Pulled before, then applied again by hand: it stays barred, its first record kept.
        # Failing here would leave the restore just rolled out unrecorded too.
        return ref
    created = _git(root, "tag", "-a", name, "-m", message)
    if created.returncode != 0:
        raise ReleaseError(f"cannot create {ref}: {created.stderr.strip()}")
    return ref


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/releases.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    decide_parser = commands.add_parser("decide", help="what the deploy job deploys")
    decide_parser.add_argument("registry", type=Path, help="the evaluate stage's registry.json")
    pick_parser = commands.add_parser("pick", help="what the andon cord restores")
    pick_parser.add_argument(
        "--live",
        required=True,
        help="the live image's tags in ECR, as the JSON list (or null) describe-images gives",
    )
    pick_parser.add_argument("--requested", default="", help="an image tag; empty: the previous")
    record_parser = commands.add_parser(
        "record", help="tag HEAD as promoted, restored or rolled back"
    )
    record_parser.add_argument("kind", choices=[PROMOTED, RESTORED, ROLLED_BACK])
    record_parser.add_argument("image")
    record_parser.add_argument("--message", required=True)
    record_parser.add_argument(
        "--in-service",
        action="store_true",
        help="rolled-back: the image AWS has in service, which may not be recorded as promoted yet",
    )
    args = parser.parse_args(argv)
    root = Path.cwd()
    try:
        if args.command == "record":
            print(record(root, args.kind, args.image, args.message, args.in_service))
            return 0
        if args.command == "decide":
            outputs, why = decide(args.registry, root)
        else:
            outputs, why = pick(root, args.live, args.requested)
    except ReleaseError as error:
        print(f"::error::{error}", file=sys.stderr)
        return 1
    print(why, file=sys.stderr)
    for key, value in outputs.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
