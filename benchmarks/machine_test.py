import platform

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


def test_without_a_model_name_the_platform_module_answers() -> None:
    assert cpu_model("processor\t: 0\nmodel name\t:\n") == (platform.processor() or "unknown CPU")


def test_the_description_names_this_machine_cpu_model_and_cores() -> None:
    text = describe()
    assert cpu_model() in text
    assert text.startswith(platform.machine())
    assert " cores, " in text
