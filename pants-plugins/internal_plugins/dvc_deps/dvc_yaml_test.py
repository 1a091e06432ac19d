import pytest

from internal_plugins.dvc_deps.dvc_yaml import DvcYamlError, stage_targets, with_source_deps

PIPELINE = """\
# The pipeline.
stages:
  land:
    # Lands a slice.
    cmd: ./pants --concurrent run services/ingest:ingest -- land --landing data/landing
    deps:
      - services/ingest/ingest/old.py
    outs:
      - data/landing
  ingest:
    cmd: >-
      ./pants run services/ingest:ingest --
      curate --landing data/landing
    deps:
      - data/landing
      - libs/storage/storage/atomic.py
    outs:
      - data/curated
  report:
    cmd: python -c 'print(1)'
"""


def test_each_stage_maps_to_the_target_its_cmd_runs() -> None:
    assert stage_targets(PIPELINE) == {
        "land": "services/ingest:ingest",
        "ingest": "services/ingest:ingest",
    }


def test_generated_deps_replace_the_old_ones_and_keep_data_deps_and_comments() -> None:
    rewritten = with_source_deps(
        PIPELINE,
        {"land": ["services/ingest/ingest/land.py"], "ingest": ["b.py", "a.py", "a.py"]},
    )
    assert rewritten == PIPELINE.replace(
        "      - services/ingest/ingest/old.py", "      - services/ingest/ingest/land.py"
    ).replace("      - libs/storage/storage/atomic.py", "      - a.py\n      - b.py")


def test_rewriting_is_idempotent() -> None:
    deps = {"land": ["x.py"], "ingest": ["y.py"]}
    once = with_source_deps(PIPELINE, deps)
    assert with_source_deps(once, deps) == once


def test_a_stage_without_deps_gets_them_after_its_cmd() -> None:
    text = "stages:\n  land:\n    cmd: ./pants run a:b\n    outs:\n      - data/x\n"
    assert with_source_deps(text, {"land": ["a/b.py"]}) == (
        "stages:\n  land:\n    cmd: ./pants run a:b\n    deps:\n      - a/b.py\n"
        "    outs:\n      - data/x\n"
    )


def test_a_stage_running_two_targets_is_an_error() -> None:
    text = "stages:\n  both:\n    cmd:\n      - ./pants run a:a\n      - ./pants run b:b\n"
    with pytest.raises(DvcYamlError, match="stage 'both' runs several Pants targets"):
        stage_targets(text)


def test_invalid_yaml_and_flow_style_deps_are_named() -> None:
    with pytest.raises(DvcYamlError, match="not valid YAML"):
        stage_targets("stages: [")
    with pytest.raises(DvcYamlError, match="no `stages:`"):
        stage_targets("vars: []\n")
    flow = "stages:\n  land:\n    cmd: ./pants run a:b\n    deps: [a.py]\n"
    with pytest.raises(DvcYamlError, match="block list"):
        with_source_deps(flow, {"land": ["a.py"]})
