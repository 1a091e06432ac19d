import os
import platform
import subprocess

import pytest

from benchmarks.machine import cpu_model, describe

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme

processor\t: 1
model name\t: AMD EPYC 7B13
"""


def test_the_cpu_model_is_the_first_model_name() -> None:
    assert cpu_model(CPUINFO) == "AMD EPYC 7B13"


def test_without_a_model_name_the_platform_module_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(platform, "processor", lambda: "x86_64")
    assert cpu_model("processor\t: 0\nmodel name\t:\n") == "x86_64"
    monkeypatch.setattr(platform, "processor", lambda: "")
    assert cpu_model("processor\t: 0\n") == "unknown CPU"


def test_the_description_names_this_machine_cpu_model_and_cores() -> None:
    text = describe()
    assert text.startswith(f"{platform.machine()}, ")
    assert f", {os.cpu_count()} cores, " in text
    # The model as lscpu, which reads it apart from this module, names it.
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    (named,) = (
        line.split(":", 1)[1].strip()
        for line in lscpu.splitlines()
        if line.startswith("Model name")
    )
    assert f", {named}, " in text
