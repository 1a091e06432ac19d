"""Which stages a change reaches, as a test of the build: in a throwaway copy of the repo, its own
Pants packages the services' artifacts and DVC runs the pipeline on them; then a change to one
service's code changes exactly its stages, a lib change exactly the stages of the services that
import it, and a comment in a file no stage's service uses nothing; and a rebuild with Pants'
process cache off gives the same bytes, so DVC sees nothing to re-run.

It depends on the build's definition, not on the services' code (it reads that from the working
tree, see tests/build/repo_copy.py): a service change runs the pipeline test, not this one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.build.repo_copy import RepoCopy
from tests.dvc.slice_repo import changed_stages, dvc, sliced
from tools.artifacts import artifacts_in


def package(repo: RepoCopy, *options: str) -> None:
    """`./pants package` of every artifact dvc.yaml runs, in the copy, into its dist/."""
    addresses = [
        artifact.address for artifact in artifacts_in((repo.root / "dvc.yaml").read_text())
    ]
    built = repo.pants(*options, "package", *addresses)
    assert built.exit_code == 0, built.stderr[-3000:]


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoCopy]:
    """A copy on the test slice with its artifacts built by its own Pants and its pipeline run.
    One Pants daemon serves the module's runs (RepoCopy.daemon)."""
    copy = RepoCopy.create(tmp_path_factory.mktemp("stages") / "repo")
    with sliced(copy).daemon() as repo:
        package(repo)
        dvc(repo.root, "repro")
        repo.commit("the pipeline's outputs")
        yield repo


@pytest.mark.parametrize(
    ("changed_file", "stages"),
    [
        # One service: exactly its stages.
        ("services/ingest/ingest/curate.py", {"land", "ingest"}),
        # A lib: the stages of the services that import it (feature and train, not ingest).
        (
            "libs/feature_definitions/feature_definitions/calendar.py",
            {"features", "online_store", "train", "evaluate"},
        ),
        # A comment in a file no stage's service uses: nothing.
        ("services/serve/serve/drift.py", set()),
    ],
)
def test_a_change_reruns_exactly_the_stages_whose_artifact_it_changes(
    reproduced: RepoCopy, changed_file: str, stages: set[str]
) -> None:
    reproduced.append(changed_file, "\n# a one-line change\n")
    try:
        package(reproduced)
        assert changed_stages(reproduced.root) == stages
    finally:
        reproduced.git("checkout", "--", changed_file)


# Last, as it starts another daemon.
def test_artifacts_rebuilt_without_the_process_cache_are_the_same_bytes(
    reproduced: RepoCopy,
) -> None:
    # A new daemon, so that no build comes from the memory of the one that ran them.
    reproduced.stop_daemon()
    package(reproduced, "--no-local-cache")
    assert changed_stages(reproduced.root) == set()
