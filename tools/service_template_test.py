"""What tools:new-service checks before it writes: it refuses the modules of the lockfile's
distributions, and it never writes a ruff.toml that does not parse."""

from __future__ import annotations

import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tools.artifacts import LOCKFILE, locked_requirements, normalise
from tools.service_template import (
    NAME,
    check_name,
    third_party_modules,
    with_first_party,
)

# The test's sandbox holds //:build_config (ruff.toml, the lockfile).
ROOT = Path.cwd()
# Only the lockfile's modules: the test's own environment is compared with it below.
THIRD_PARTY = third_party_modules(ROOT, installed={})


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
