"""What a benchmark report says about the machine it ran on: timings differ between CPU models
(AMD EPYC, Intel Xeon), so every report names the model."""

from __future__ import annotations

import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_model(cpuinfo: str | None = None) -> str:
    """The first processor's model name in `cpuinfo` (this machine's /proc/cpuinfo by default),
    else what the platform module knows, else "unknown CPU"."""
    text = cpuinfo if cpuinfo is not None else (CPUINFO.read_text() if CPUINFO.exists() else "")
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or "unknown CPU"


def describe() -> str:
    """Architecture, CPU model, cores and operating system, for a report's "machine" field."""
    return f"{platform.machine()}, {cpu_model()}, {os.cpu_count()} cores, {platform.platform()}"
