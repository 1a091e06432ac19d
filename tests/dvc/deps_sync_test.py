"""`./pants dvc-deps --check` fails when dvc.yaml no longer matches the Pants graph, and names
the stage and file; `./pants dvc-deps` puts it right."""

from pathlib import Path

from tests.build.repo_copy import RepoCopy


def test_a_new_import_puts_dvc_yaml_out_of_sync_until_regenerated(tmp_path: Path) -> None:
    repo = RepoCopy.create(tmp_path / "repo")
    assert repo.pants("dvc-deps", "--check").exit_code == 0, "the committed dvc.yaml is stale"

    repo.write("libs/storage/storage/checksum.py", "CHECKSUM = 'md5'\n")
    repo.append("services/feature/feature/cli.py", "\nfrom storage.checksum import CHECKSUM\n")
    stale = repo.pants("dvc-deps", "--check")
    assert stale.exit_code == 1
    assert "+      - libs/storage/storage/checksum.py" in stale.stdout
    assert "out of sync with the Pants graph" in stale.stderr
    assert (repo.root / "dvc.yaml").read_text().count("checksum.py") == 0  # --check wrote nothing

    assert repo.pants("dvc-deps").exit_code == 0
    pipeline = (repo.root / "dvc.yaml").read_text()
    features_stage = pipeline[pipeline.index("  features:") :]
    assert "      - libs/storage/storage/checksum.py" in features_stage
    # Ingest does not import the feature service, so its stages are unchanged.
    assert pipeline[: pipeline.index("  features:")].count("checksum.py") == 0
    assert repo.pants("dvc-deps", "--check").exit_code == 0
