"""Every service and every lib has a CODEOWNERS line of its own, so that none is reviewed by
the catch-all team only because nobody named an owner (platform-team may still own one)."""

import re

import pytest

from tests.build.repo_copy import SANDBOX_ROOT


def owners_by_pattern() -> dict[str, list[str]]:
    rules = {}
    for line in (SANDBOX_ROOT / "CODEOWNERS").read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            rules[fields[0]] = fields[1:]
    return rules


def units() -> list[str]:
    """Each service (services/<name>/BUILD) and each lib (libs/<name>/<package>/BUILD)."""
    services = {build.parent for build in SANDBOX_ROOT.glob("services/*/BUILD")}
    libs = {build.parent.parent for build in SANDBOX_ROOT.glob("libs/*/*/BUILD")}
    return sorted(f"/{unit.relative_to(SANDBOX_ROOT)}/" for unit in services | libs)


def test_units_are_the_four_services_and_the_libs() -> None:
    assert units() == [
        "/libs/contracts/",
        "/libs/feature_definitions/",
        "/libs/loopback/",
        "/libs/model_registry/",
        "/libs/online_store/",
        "/libs/storage/",
        "/services/feature/",
        "/services/ingest/",
        "/services/serve/",
        "/services/train/",
    ]


@pytest.mark.parametrize("unit", units())
def test_unit_has_its_own_owner(unit: str) -> None:
    assert owners_by_pattern().get(unit), f"CODEOWNERS has no line for {unit}"


def test_every_owner_is_a_team_of_an_organization() -> None:
    # Before, `@platform-team`: GitHub reads a bare name as a user, so no review was requested.
    for pattern, owners in owners_by_pattern().items():
        for owner in owners:
            assert re.fullmatch(r"@[A-Za-z0-9-]+/[A-Za-z0-9_.-]+", owner), (pattern, owner)
