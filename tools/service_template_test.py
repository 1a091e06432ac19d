"""What tools:new-service checks before it writes: it never writes a ruff.toml that does not
parse."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tools.service_template import with_first_party

# The test's sandbox holds //:build_config (ruff.toml, the lockfile).
ROOT = Path.cwd()


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
