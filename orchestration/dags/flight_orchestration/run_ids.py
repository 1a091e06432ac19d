"""A DAG run's ID as the name of its directory (`<workdir>/runs/<name>`, `<params_prefix>/<name>`).

Airflow's run IDs hold characters a path or an S3 key should not (`scheduled__2013-12-03T00:00:00
+00:00`), and a manual trigger may name its run anything its `allowed_run_id_pattern` accepts
(by default `^[A-Za-z0-9_.~:+-]+$`: `a:b` beside `a_b`, and `..`). Two runs must never share a
directory, where one would read the other's parameters, and none may name a directory outside
`runs`. Plain Python, so its property-based test runs where Hypothesis is typed.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
# The suffix a changed ID gets: an ID that ends like one is changed too, so that no ID kept as
# it is can equal another's changed name.
_DIGEST = re.compile(r"-[0-9a-f]{12}$")
# Room for the suffix within a path component's 255 bytes (Airflow's IDs are up to 250).
_KEPT_LENGTH = 200


def run_directory_name(run_id: str) -> str:
    """`run_id` itself when it is a plain name; otherwise its characters outside
    `[A-Za-z0-9_.-]` made `_`, a leading dot made `_`, cut to 200 characters, with a digest of
    the whole ID appended, so that distinct IDs get distinct names."""
    if (
        run_id
        and not _UNSAFE.search(run_id)
        and not run_id.startswith(".")
        and not _DIGEST.search(run_id)
        and len(run_id) <= _KEPT_LENGTH
    ):
        return run_id
    readable = _UNSAFE.sub("_", run_id)[:_KEPT_LENGTH]
    if readable.startswith("."):
        readable = "_" + readable[1:]
    digest = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}"
