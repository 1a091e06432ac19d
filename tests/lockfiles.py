"""The services' lockfile as the tests read it (tools.artifacts parses it)."""

from __future__ import annotations

from pathlib import Path

from tools.artifacts import LOCKFILE, locked_requirements

DEFAULT_LOCK = Path(LOCKFILE)
# The developer tools' resolve (pre-commit, check-jsonschema, ...; tools/BUILD).
DEVTOOLS_LOCK = Path("3rdparty/python/devtools.lock")

__all__ = ["DEFAULT_LOCK", "DEVTOOLS_LOCK", "locked_requirements", "locked_version"]


def locked_version(lockfile: Path, project: str) -> str:
    (version,) = (
        r["version"] for r in locked_requirements(lockfile) if r["project_name"] == project
    )
    return str(version)
