"""`--changed-since` with transitive dependents selects exactly the tests a change can break."""

from collections.abc import Iterator

import pytest

from tests.build.repo_copy import RepoCopy

SERVICES = ("ingest", "feature", "train", "serve")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoCopy]:
    with RepoCopy.create(tmp_path_factory.mktemp("changed") / "repo").daemon() as served:
        yield served


def selected_tests(repo: RepoCopy) -> list[str]:
    run = repo.pants(
        "--changed-since=HEAD~1",
        "--changed-dependents=transitive",
        "--filter-target-type=python_test",
        "list",
    )
    assert run.exit_code == 0, run.stderr
    return run.stdout.split()


def services_with_tests(selected: list[str]) -> set[str]:
    return {s for s in SERVICES if any(t.startswith(f"services/{s}/") for t in selected)}


def test_a_one_file_change_in_a_service_selects_only_that_service(repo: RepoCopy) -> None:
    repo.append("services/train/train/baseline.py", "\n# a one-line change\n")
    repo.commit("change train")
    selected = selected_tests(repo)
    assert services_with_tests(selected) == {"train"}
    assert "services/train/train/baseline_test.py:tests" in selected
    assert not any(t.startswith("libs/") for t in selected)


def test_a_change_in_a_lib_selects_every_service_using_it(repo: RepoCopy) -> None:
    repo.append("libs/feature_definitions/feature_definitions/calendar.py", "\n# lib change\n")
    repo.commit("change the feature definitions lib")
    selected = selected_tests(repo)
    # feature builds the offline table, serve computes the same features online, and train
    # reads the feature names; ingest does not use this lib.
    assert services_with_tests(selected) == {"feature", "train", "serve"}
    assert "libs/feature_definitions/feature_definitions/calendar_test.py:tests" in selected
