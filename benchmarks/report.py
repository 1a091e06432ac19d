"""A benchmark's report: what it measured, stamped with when and on which machine, kept as JSON
under build/benchmarks/ (git ignores build/) for docs/benchmarks.md to quote."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import REPO, machine

REPORTS = REPO / "build" / "benchmarks"


def stamped(**measured: Any) -> dict[str, Any]:
    """`measured`, after the date (UTC) and the machine it was measured on."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.describe(),
        **measured,
    }


def commit(rev: str = "HEAD") -> str:
    """The short hash of `rev` in the checkout the benchmarks measure."""
    return subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def save(report: Mapping[str, Any], path: Path) -> str:
    """Write `report` to `path` as JSON, creating its directory; returns the JSON text."""
    text = json.dumps(report, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return text
