"""What tools:new-service renders and registers passes the repo's own checks: every name and
description it accepts renders files that ruff (with ruff.toml) and Black's layout of BUILD
files accept, it refuses the modules of the lockfile's distributions, and it never writes a
ruff.toml that does not parse. The template is rendered here with the data new_service.py gives
copier (its files hold plain placeholders only, which the first test checks)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tools.artifacts import LOCKFILE, locked_requirements, normalise
from tools.service_template import (
    BUILD_LINE_LENGTH,
    MAX_NAME_LENGTH,
    NAME,
    RUFF_LINE_LENGTH,
    check_description,
    check_name,
    template_data,
    third_party_modules,
    with_first_party,
)

# The test's sandbox holds //:build_config (ruff.toml, the lockfile) and //templates:service.
ROOT = Path.cwd()
TEMPLATE = ROOT / "templates" / "service" / "template"
PLACEHOLDER = re.compile(r"\{\{ (\w+) \}\}")
# Only the lockfile's modules: the test's own environment is compared with it below.
THIRD_PARTY = third_party_modules(ROOT, installed={})


def render(name: str, description: str, destination: Path) -> None:
    data = template_data(name, description)
    for source in sorted(p for p in TEMPLATE.rglob("*") if p.is_file()):
        relative = PLACEHOLDER.sub(lambda m: data[m[1]], source.relative_to(TEMPLATE).as_posix())
        target = destination / relative.removesuffix(".jinja")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(PLACEHOLDER.sub(lambda m: data[m[1]], source.read_text()))
    ruff_toml = with_first_party((ROOT / "ruff.toml").read_text(), name)
    (destination / "ruff.toml").write_text(ruff_toml)


def ruff(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_passes_the_checks(name: str, description: str, tmp_path: Path) -> None:
    """ruff check and ruff format --check with the repo's ruff.toml on the Python files, and the
    BUILD files as Black lays them out (ruff format with Black's defaults, as a stand-in for the
    Black that `./pants update-build-files` runs)."""
    service = tmp_path / name
    render(name, description, service)
    checked = ruff("check", "--no-cache", ".", cwd=service)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = ruff("format", "--check", "--no-cache", ".", cwd=service)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    for build in (service / "BUILD", service / name / "BUILD"):
        text = build.read_text()
        black = ruff(
            "format",
            "--isolated",
            f"--line-length={BUILD_LINE_LENGTH}",
            "-",
            cwd=service,
            stdin=text,
        )
        assert black.returncode == 0, black.stderr
        assert (
            black.stdout == text
        ), f"{build.relative_to(service)} as Black lays it out:\n{black.stdout}"
    module = ast.parse((service / name / "__init__.py").read_text())
    assert (ast.get_docstring(module, clean=False) or "").split() == description.split()


def test_the_template_holds_plain_placeholders_only() -> None:
    for source in TEMPLATE.rglob("*"):
        text = source.as_posix() + (source.read_text() if source.is_file() else "")
        assert "{%" not in text and "{#" not in text, source
        assert text.count("{{") == len(PLACEHOLDER.findall(text)), source


@pytest.mark.parametrize("length", [1, 19, 20, 26, 27, MAX_NAME_LENGTH])
def test_a_name_of_any_length_renders_a_build_that_black_and_ruff_leave_alone(
    length: int, tmp_path: Path
) -> None:
    # Before, from 20 characters on the service_artifact line was longer than Black's 88, and
    # `./pants tailor --check update-build-files --check` failed on the new service.
    name = ("flight_delay_monitor" * 4)[:length]
    assert_passes_the_checks(name, "Watches the served model.", tmp_path)


NAMES = st.from_regex(NAME, fullmatch=True).filter(lambda n: len(n) <= MAX_NAME_LENGTH)
# Any text, and words of printable ASCII (quotes and backslashes among them) most of which the
# tool accepts, long enough to be wrapped.
WORDS = st.lists(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30),
    min_size=1,
    max_size=40,
).map(" ".join)
DESCRIPTIONS = st.one_of(
    WORDS, st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1)
)


@given(name=NAMES, description=DESCRIPTIONS)
@example(name="flight_delay_monitor", description="Scores flights - quickly " * 5)
@example(name="a" * MAX_NAME_LENGTH, description='Says "hi" \\ in C:\\new\\, ends in a quote"')
@example(name="notes", description=" padded  and ending in a backslash\\ ")
@example(name="monitor", description="Scores flights \N{EN DASH} quickly")
@example(name="monitor", description="See " + "x" * 97)
def test_whatever_is_accepted_renders_files_that_pass_ruff_and_black(
    name: str, description: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    try:
        check_name(name, set(), THIRD_PARTY)
        check_description(description)
    except ValueError:
        return
    assert_passes_the_checks(name, description, tmp_path_factory.mktemp("service"))


def test_a_long_description_is_wrapped_within_the_line_length() -> None:
    # Before, a description of 107 characters made a docstring line ruff refused (E501).
    description = (
        "Scores every departing flight for the chance of a delay and writes the scores "
        + ("to the store.") * 3
    )
    check_description(description)
    docstring = template_data("monitor", description)["docstring"]
    assert len(docstring.splitlines()) == 2
    assert max(map(len, docstring.splitlines())) <= RUFF_LINE_LENGTH


@pytest.mark.parametrize(
    ("description", "message"),
    [
        # Before, accepted: ruff refused the docstring (RUF002).
        ("Scores flights \N{EN DASH} quickly", "EN DASH (U+2013)"),
        (
            "The model\N{RIGHT SINGLE QUOTATION MARK}s scores",
            "RIGHT SINGLE QUOTATION MARK (U+2019)",
        ),
        ("See " + "x" * 95, "a word of 95 characters"),
        (" ", "--description is empty"),
        ("two\nlines", "is not one line of printable text"),
    ],
)
def test_a_description_ruff_would_refuse_is_refused_by_name(description: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_description(description)


@pytest.mark.parametrize(
    ("module", "distribution"),
    [
        ("dateutil", "python-dateutil"),
        ("attr", "attrs"),
        ("git", "gitpython"),
        ("dotenv", "python-dotenv"),
        ("multipart", "python-multipart"),
        ("zmq", "pyzmq"),
        ("ruamel", "ruamel-yaml"),
        ("pkg_resources", "setuptools"),
        ("yaml", "pyyaml"),
        ("sklearn", "scikit-learn"),
        ("torch", "torch"),
    ],
)
def test_a_module_of_the_lockfiles_distributions_is_refused(module: str, distribution: str) -> None:
    # Before, the modules named otherwise than their distribution were accepted: a service
    # named dateutil hid python-dateutil, and pandas failed to import.
    with pytest.raises(ValueError, match=f"'{module}' is the module of {distribution},"):
        check_name(module, set(), THIRD_PARTY)


def test_the_modules_installed_here_are_known_from_the_lockfile_alone() -> None:
    """The distributions in this test's environment that the lockfile holds (pytest,
    hypothesis, ruff and theirs), by their own metadata: each module a service could be named
    is known without them."""
    locked = {normalise(r["project_name"]) for r in locked_requirements(ROOT / LOCKFILE)}
    missed = {
        module: distributions
        for module, distributions in packages_distributions().items()
        if NAME.fullmatch(module)
        and any(normalise(d) in locked for d in distributions)
        and module not in THIRD_PARTY
    }
    assert not missed


def test_the_installed_distributions_add_their_modules() -> None:
    modules = third_party_modules(ROOT, installed={"somemodule": ["PyYAML"], "other": ["nope"]})
    assert modules["somemodule"] == "pyyaml"
    assert "other" not in modules


RUFF_TOML = """[lint.isort]
known-first-party = [
  "contracts", "ingest",
  "tools"{after}
]
"""


@pytest.mark.parametrize("after", ["", ",", "  # the repo's tools", ',  # a comment, "quoted"'])
def test_the_new_entry_keeps_ruff_toml_valid(after: str) -> None:
    # Before, with no comma after the last entry (valid TOML) the new one made it unparseable.
    text = with_first_party(RUFF_TOML.format(after=after), "monitor")
    parsed = tomllib.loads(text)["lint"]["isort"]["known-first-party"]
    assert parsed == ["contracts", "ingest", "tools", "monitor"]


def test_a_ruff_toml_that_would_not_parse_is_refused() -> None:
    with pytest.raises(ValueError, match="known-first-party"):
        with_first_party('[lint.isort]\nknown-first-party = [\n  "a" "b"\n]\n', "monitor")


def test_the_repos_ruff_toml_takes_a_new_entry() -> None:
    text = (ROOT / "ruff.toml").read_text()
    parsed = tomllib.loads(with_first_party(text, "monitor"))["lint"]["isort"]
    assert parsed["known-first-party"][-1] == "monitor"
