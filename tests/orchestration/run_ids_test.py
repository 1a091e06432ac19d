"""Run IDs as directory names (flight_orchestration.run_ids): one directory per run, inside
`runs`. Plain Python, so this runs in the services' resolve, where Hypothesis is."""

from __future__ import annotations

import re
import string
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from flight_orchestration.run_ids import run_directory_name

# What Airflow 2.10 takes as a manual run's ID by default (`allowed_run_id_pattern`), up to its
# 250 characters.
AIRFLOW_RUN_IDS = st.text(alphabet=string.ascii_letters + string.digits + "_.~:+-", max_size=250)


@given(run_id=AIRFLOW_RUN_IDS | st.text(max_size=250))
def test_ids_that_look_alike_get_directories_of_their_own(run_id: str) -> None:
    name = run_directory_name(run_id)
    # The IDs most like this one: its unsafe characters made plain, and its own directory's name.
    for twin in (re.sub(r"[^A-Za-z0-9_.-]", "_", run_id), name):
        if twin != run_id:
            assert run_directory_name(twin) != name, (run_id, twin)


@given(run_id=AIRFLOW_RUN_IDS | st.text(max_size=250))
def test_every_name_is_one_plain_component_inside_runs(run_id: str) -> None:
    name = run_directory_name(run_id)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", name) and name not in (".", ".."), name
    assert len(name.encode()) <= 255
    runs = Path("/runs")
    assert (runs / name).resolve().parent == runs


def test_plain_ids_are_kept_and_the_others_name_what_they_were() -> None:
    assert run_directory_name("scheduled__2013-12-03") == "scheduled__2013-12-03"
    assert run_directory_name("manual__2013-12-03T00:00:00+00:00") == (
        "manual__2013-12-03T00_00_00_00_00-7d0124d0d2e8"
    )
    # Before, `..` named the runs directory's parent: the checkout, whose params.yaml a run
    # would have overwritten.
    assert run_directory_name("..") == "_.-5ec1f7e700f3"
