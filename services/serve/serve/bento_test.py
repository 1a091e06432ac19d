"""The Bento builder's artifact: its exit status when there is nothing to serve is the caller's
to choose."""

import subprocess

import pytest


@pytest.mark.parametrize(
    ("args", "status"),
    [([], 1), (["--no-model-status", "0"], 0), (["--no-model-status", "99"], 99)],
)
def test_with_no_promoted_model_it_builds_nothing_and_exits_with_the_callers_status(
    args: list[str], status: int
) -> None:
    built = subprocess.run(
        ["services.serve/bento.pex/__main__.py", *args], capture_output=True, text=True, timeout=120
    )
    assert built.returncode == status, built.stderr
    assert built.stdout == ""
    assert "serve-bento: no flight-delay model labelled stage=promoted" in built.stderr
