"""Reads which Pants target each `dvc.yaml` stage runs, and rewrites the stages' source deps.

The rewrite is textual so that the hand-written parts of `dvc.yaml` (comments, order, the data
deps) stay as they are. A stage's deps under `data/` are hand-written; every other dep is a
source file and belongs to the generated part, which is replaced whole.

Runs inside Pants (Python 3.9), so it keeps to 3.9 syntax.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import yaml  # pants: no-infer-dep (Pants ships PyYAML; see pants-plugins/BUILD)

HAND_WRITTEN_PREFIX = "data/"
# `./pants [--flag ...] run <address>`; flags such as `--concurrent` may come first.
_PANTS_RUN = re.compile(
    r"(?:^|\s)\./pants(?:\s+--[\w.-]+(?:=\S+)?)*\s+run\s+(?P<address>[^\s-]\S*)"
)
_STAGE = re.compile(r"^  (?P<name>[\w.-]+):\s*$")
_STAGE_KEY = re.compile(r"^    (?P<key>[\w-]+):")
_DEPS_ITEM = re.compile(r"^      - (?P<path>\S+)\s*$")


class DvcYamlError(ValueError):
    pass


def stage_targets(text: str) -> dict[str, str]:
    """The Pants address each stage's `cmd` runs, by stage name (stages without one left out)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise DvcYamlError(f"dvc.yaml is not valid YAML: {error}") from error
    stages = (document or {}).get("stages")
    if not isinstance(stages, dict):
        raise DvcYamlError("dvc.yaml has no `stages:` mapping")
    targets = {}
    for name, stage in stages.items():
        command = stage.get("cmd") if isinstance(stage, dict) else None
        commands = command if isinstance(command, list) else [command]
        found = {m.group("address") for c in commands if c for m in _PANTS_RUN.finditer(str(c))}
        if len(found) > 1:
            raise DvcYamlError(f"stage {name!r} runs several Pants targets: {sorted(found)}")
        if found:
            targets[name] = found.pop()
    return targets


def is_hand_written(dep: str) -> bool:
    return dep.startswith(HAND_WRITTEN_PREFIX)


def with_source_deps(text: str, source_deps: Mapping[str, Sequence[str]]) -> str:
    """`text` with each named stage's generated deps replaced by `source_deps[stage]`, sorted,
    after its hand-written deps. A stage without a `deps:` key gets one after its `cmd`."""
    lines = text.splitlines()
    output: list[str] = []
    missing = set(source_deps)
    index = 0
    in_stages = False
    while index < len(lines):
        line = lines[index]
        if not line.startswith(" ") and line.strip() and not line.startswith("#"):
            in_stages = line.rstrip() == "stages:"
        stage = _STAGE.match(line) if in_stages else None
        if stage is None or stage.group("name") not in source_deps:
            output.append(line)
            index += 1
            continue
        name = stage.group("name")
        missing.discard(name)
        end = index + 1
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith("    ")):
            end += 1
        output.append(line)
        output += _rewrite_stage(lines[index + 1 : end], sorted(set(source_deps[name])))
        index = end
    if missing:
        raise DvcYamlError(f"dvc.yaml has no stage(s) {sorted(missing)}")
    return "\n".join(output) + "\n"


def _rewrite_stage(body: list[str], generated: list[str]) -> list[str]:
    keys = [i for i, line in enumerate(body) if _STAGE_KEY.match(line)]
    deps_at = next((i for i in keys if body[i].startswith("    deps:")), None)
    if deps_at is None:
        cmd_at = next((i for i in keys if body[i].startswith("    cmd:")), None)
        if cmd_at is None:
            raise DvcYamlError("a stage that runs a Pants target has no `cmd:`")
        after_cmd = next((i for i in keys if i > cmd_at), len(body))
        return body[:after_cmd] + _deps_block([], generated) + body[after_cmd:]
    if body[deps_at].strip() not in ("deps:", "deps: []"):
        raise DvcYamlError(f"write deps as a block list, one `- path` per line: {body[deps_at]}")
    end = next((i for i in keys if i > deps_at), len(body))
    hand_written: list[str] = []
    for line in body[deps_at + 1 : end]:
        item = _DEPS_ITEM.match(line)
        if item is None and line.strip():
            raise DvcYamlError(f"unexpected line in deps, expected `      - path`: {line!r}")
        if item is not None and is_hand_written(item.group("path")):
            hand_written.append(item.group("path"))
    return body[:deps_at] + _deps_block(hand_written, generated) + body[end:]


def _deps_block(hand_written: list[str], generated: list[str]) -> list[str]:
    return ["    deps:", *(f"      - {dep}" for dep in [*hand_written, *generated])]
