"""The Bento builder's artifact: its exit status when there is nothing to serve is the caller's
to choose; a pinned model that is not in the store is an error."""

import os
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


def test_a_pinned_model_that_is_not_in_the_store_is_an_error_not_a_traceback() -> None:
    built = subprocess.run(
        ["services.serve/bento.pex/__main__.py"],
        env={**os.environ, "FLIGHT_DELAY_MODEL": "flight-delay:doesnotexist"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 2, built.stderr
    assert built.stdout == ""
    assert (
        "serve-bento: error: FLIGHT_DELAY_MODEL='flight-delay:doesnotexist': no such model"
        in built.stderr
    )
    assert "Traceback" not in built.stderr
