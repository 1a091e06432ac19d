import os
import platform
import subprocess
from pathlib import Path

import pytest

from benchmarks.machine import cores, cpu_model, describe

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme

processor\t: 1
model name\t: AMD EPYC 7B13
"""

# An ARM kernel's: no model name line, only the part's number.
ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1
"""

# Answers in English only when LC_ALL=C, as a translated lscpu would not.
FAKE_LSCPU = """#!/bin/sh
if [ "$LC_ALL" = C ]; then
  echo "Architecture:             aarch64"
  echo "    BIOS Model name:      AWS Graviton2 Processor"
  echo "  Model name:             %s"
else
  echo "  Modellname:             Neoverse-N1"
fi
"""


def fake_lscpu(directory: Path, model: str) -> None:
    lscpu = directory / "lscpu"
    lscpu.write_text(FAKE_LSCPU % model)
    lscpu.chmod(0o755)


def test_the_cpu_model_is_the_first_model_name() -> None:
    assert cpu_model(CPUINFO) == "AMD EPYC 7B13"


def test_without_a_model_name_lscpu_names_it_in_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, platform.processor() answered: on Linux the architecture, or nothing.
    fake_lscpu(tmp_path, "Neoverse-N1")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    assert cpu_model(ARM_CPUINFO) == "Neoverse-N1"
    assert cpu_model("processor\t: 0\nmodel name\t:\n") == "Neoverse-N1"


def test_without_a_model_name_lscpu_does_not_know_the_cpu_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no lscpu
    assert cpu_model(ARM_CPUINFO) == "unknown CPU"
    fake_lscpu(tmp_path, "-")  # lscpu's word for a value it does not know
    assert cpu_model(ARM_CPUINFO) == "unknown CPU"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_the_cores_are_those_this_process_may_run_on() -> None:
    # Before, every core of the machine: a run pinned to one (train_full_year pins itself) or a
    # container's CPU set said more.
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert cores() == 1
        assert ", 1 cores, " in describe()
    finally:
        os.sched_setaffinity(0, allowed)
    assert cores() == len(allowed)


def test_the_description_names_this_machine_cpu_model_and_cores() -> None:
    text = describe()
    assert text.startswith(f"{platform.machine()}, ")
    assert f", {cores()} cores, " in text
    # The model as lscpu, which reads it apart from this module, names it.
    lscpu = subprocess.run(
        ["lscpu"], capture_output=True, text=True, check=True, env={**os.environ, "LC_ALL": "C"}
    ).stdout
    (named,) = (
        line.split(":", 1)[1].strip()
        for line in lscpu.splitlines()
        if line.strip().startswith("Model name")
    )
    assert f", {named}, " in text
