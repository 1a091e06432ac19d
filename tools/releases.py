"""What the deploy job and the andon cord deploy, decided from the promotion gate's record and
the release tags.

Releases are recorded as annotated git tags on the commit that built the serve image:
`promoted/<image tag>` once a deployment of that image succeeded, `rolled-back/<image tag>`
once the andon cord pulled it. The image tag is the served model's BentoML tag with its colon
made a dash (flight-delay:abc123 -> flight-delay-abc123): image tags hold no colon.

    python3 tools/releases.py decide data/evaluation/registry.json   # main.yml, deploy job
    python3 tools/releases.py pick [--requested IMAGE_TAG]            # andon-cord.yml
    python3 tools/releases.py record promoted|rolled-back IMAGE_TAG --message TEXT

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
from collections.abc import Sequence
from pathlib import Path

PROMOTED = "promoted"
ROLLED_BACK = "rolled-back"
# Docker's grammar for an image tag.
IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class ReleaseError(Exception):
    """The input names no valid release; the message says what is wrong."""


def image_tag(model: str) -> str:
    """The image tag of a BentoML tag (`name:version`)."""
    name, colon, version = model.partition(":")
    tag = f"{name}-{version}"
    if not (name and colon and version) or not IMAGE_TAG.fullmatch(tag):
        raise ReleaseError(f"{model!r} is not a BentoML tag (name:version) that makes an image tag")
    return tag


def checked_image_tag(value: str) -> str:
    if not IMAGE_TAG.fullmatch(value):
        raise ReleaseError(
            f"{value!r} is not an image tag (letters, digits, _ . -, not starting with . or -; "
            "at most 128)"
        )
    return value


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


def live_promotions(root: Path) -> list[str]:
    """The promoted image tags the andon cord has not pulled, newest first."""
    pulled = set(_images_tagged(root, ROLLED_BACK))
    return [image for image in _images_tagged(root, PROMOTED) if image not in pulled]


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
    outputs = {"deploy": "true", "image_tag": image, "model": promoted}
    return outputs, f"Deploying {promoted} as image tag {image}"


def pick(root: Path, requested: str = "") -> tuple[dict[str, str], str]:
    """The andon cord's outputs: the model in service and the one to restore (the newest
    promotion before it unless one is requested)."""
    if requested:
        checked_image_tag(requested)
    live = live_promotions(root)
    if requested and requested not in live:
        if tagged(root, ROLLED_BACK, requested):
            raise ReleaseError(
                f"{requested} was rolled back (tag {ROLLED_BACK}/{requested}): delete that tag "
                "first to restore it on purpose"
            )
        raise ReleaseError(f"{requested} was never promoted (no tag {PROMOTED}/{requested})")
    if not live:
        raise ReleaseError(f"no {PROMOTED}/* tag: nothing is deployed through promotion yet")
    current = live[0]
    if requested == current:
        raise ReleaseError(f"{requested} is the model in service: there is nothing to roll back")
    if not requested and len(live) < 2:
        raise ReleaseError(f"only one promoted model ({current}): there is no previous one")
    restore = requested or live[1]
    why = f"Rolling back serve from {current} to {restore}"
    return {"current": current, "restore": restore}, why


def record(root: Path, kind: str, image: str, message: str) -> str:
    """Tag HEAD `<kind>/<image>`; the ref to push. Only a promoted image can be rolled back: a
    mistyped one would otherwise be barred from every later deployment."""
    ref = f"refs/tags/{kind}/{checked_image_tag(image)}"
    if kind == ROLLED_BACK and not tagged(root, PROMOTED, image):
        raise ReleaseError(
            f"cannot record {image} as rolled back: it was never promoted (no tag "
            f"{PROMOTED}/{image})"
        )
    created = _git(root, "tag", "-a", f"{kind}/{image}", "-m", message)
    if created.returncode != 0:
        raise ReleaseError(f"cannot create {ref}: {created.stderr.strip()}")
    return ref


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/releases.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    decide_parser = commands.add_parser("decide", help="what the deploy job deploys")
    decide_parser.add_argument("registry", type=Path, help="the evaluate stage's registry.json")
    pick_parser = commands.add_parser("pick", help="what the andon cord restores")
    pick_parser.add_argument("--requested", default="", help="an image tag; empty: the previous")
    record_parser = commands.add_parser("record", help="tag HEAD as promoted or rolled back")
    record_parser.add_argument("kind", choices=[PROMOTED, ROLLED_BACK])
    record_parser.add_argument("image")
    record_parser.add_argument("--message", required=True)
    args = parser.parse_args(argv)
    root = Path.cwd()
    try:
        if args.command == "record":
            print(record(root, args.kind, args.image, args.message))
            return 0
        if args.command == "decide":
            outputs, why = decide(args.registry, root)
        else:
            outputs, why = pick(root, args.requested)
    except ReleaseError as error:
        print(f"::error::{error}", file=sys.stderr)
        return 1
    print(why, file=sys.stderr)
    for key, value in outputs.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
