"""A small checkout with one packed PEX that dvc.yaml's one stage runs, as tools/artifacts.py
and tools/dvc_cli.py see a checkout's dist/ (the `repo` fixture in conftest.py makes it)."""

from __future__ import annotations

import json
from pathlib import Path

DVC_YAML = """stages:
  land:
    cmd: dist/services.ingest/ingest.pex/__main__.py land
    deps:
      - dist/services.ingest/ingest.pex
    outs:
      - data/landing
"""
LOCK = {"locked_resolves": [{"locked_requirements": [
    {"project_name": "PyYAML", "version": "6.0.2"},
]}]}  # fmt: skip
CODE = {
    "ingest/cli.py": "from storage import atomic\n\nprint('land')\n",
    "storage/atomic.py": "ATOMIC = True\n",
}
WHEELS = ["PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl"]
# Stands in for pex's `__main__.py`, which the check requires but does not read: it logs each run
# in runs.log (outside the stage's outputs, which DVC removes before a run) and writes the stage's
# output.
MAIN = """#!/usr/bin/env python3
import pathlib, sys
with open("runs.log", "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
pathlib.Path("data/landing").mkdir(parents=True, exist_ok=True)
pathlib.Path("data/landing/day.csv").write_text("year\\n2013\\n")
"""


def make_pex(pex: Path, code: dict[str, str], wheels: list[str]) -> None:
    """A packed PEX as pex lays one out: the code, each wheel PEX-INFO lists under .deps/ (a zip
    file there, a stand-in here), the bootstrap, and `__main__.py`."""
    for relative, text in code.items():
        (pex / relative).parent.mkdir(parents=True, exist_ok=True)
        (pex / relative).write_text(text)
    (pex / ".deps").mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        (pex / ".deps" / wheel).write_text("a wheel")
    (pex / ".bootstrap").write_text("pex's bootstrap")
    (pex / "__main__.py").write_text(MAIN)
    (pex / "__main__.py").chmod(0o755)
    info = {"distributions": {w: "x" for w in wheels}, "entry_point": "ingest.cli:main"}
    (pex / "PEX-INFO").write_text(json.dumps(info))


def make_checkout(root: Path) -> None:
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "pants.toml").write_text('[source]\nroot_patterns = ["/services/*", "/libs/*"]\n')
    (root / "3rdparty/python").mkdir(parents=True)
    (root / "3rdparty/python/default.lock").write_text("// header\n" + json.dumps(LOCK))
    for relative, text in CODE.items():
        source_root = "services/ingest" if relative.startswith("ingest") else "libs/storage"
        (root / source_root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / source_root / relative).write_text(text)
    make_pex(root / "dist/services.ingest/ingest.pex", CODE, WHEELS)
