"""The repo's Pants lockfiles as the tests read them: a JSON document after `//` header lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT_LOCK = Path("3rdparty/python/default.lock")


def locked_requirements(lockfile: Path) -> list[dict[str, Any]]:
    """Every locked requirement of the lockfile's one resolve."""
    text = lockfile.read_text()
    lock = json.loads("\n".join(line for line in text.splitlines() if not line.startswith("//")))
    (resolve,) = lock["locked_resolves"]
    return list(resolve["locked_requirements"])


def locked_version(lockfile: Path, project: str) -> str:
    (version,) = (
        r["version"] for r in locked_requirements(lockfile) if r["project_name"] == project
    )
    return str(version)
