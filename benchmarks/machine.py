"""What a benchmark report says about the machine it ran on: timings differ between CPU models
(AMD EPYC, Intel Xeon), so every report names the model."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_model(cpuinfo: str | None = None) -> str:
    """The first processor's model name in `cpuinfo` (this machine's /proc/cpuinfo by default),
    else the model name lscpu gives (ARM kernels write no model name line, and lscpu names the
    part from its number), else "unknown CPU"."""
    text = cpuinfo if cpuinfo is not None else (CPUINFO.read_text() if CPUINFO.exists() else "")
    return _field(text, "model name") or _field(_lscpu(), "Model name") or "unknown CPU"


def _field(text: str, key: str) -> str:
    """The value of the first `key: value` line of `text` that has one, else ""; lscpu writes
    "-" for a value it does not know."""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key and value.strip() not in ("", "-"):
            return value.strip()
    return ""


def _lscpu() -> str:
    """What lscpu prints, with its field names untranslated, or "" where there is no lscpu."""
    try:
        return subprocess.run(
            ["lscpu"], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
        ).stdout
    except OSError:
        return ""


def cores() -> int:
    """The cores this process may run on: its CPU affinity where the platform has one (a pinned
    run, a container's CPU set), else every core the machine has."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def describe() -> str:
    """Architecture, CPU model, usable cores and operating system, for a report's "machine"
    field."""
    return f"{platform.machine()}, {cpu_model()}, {cores()} cores, {platform.platform()}"
