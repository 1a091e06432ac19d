"""Whether a location is a remote store's URL or a local path: plain Python, so that checking
an output (storage.outputs) needs no storage client, in the DAGs' resolve too."""

from __future__ import annotations


def is_remote(where: str) -> bool:
    return "://" in where and not where.startswith("file://")
