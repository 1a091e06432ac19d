import argparse
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.arguments import path_argument


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="command")
    parser.add_argument("--input", type=path_argument)
    return parser


def test_an_empty_path_is_refused_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["--input", ""])
    assert exited.value.code == 2
    assert "command: error: argument --input: empty: give a path" in capsys.readouterr().err


@given(st.text(min_size=1).filter(lambda text: "\0" not in text))
def test_any_other_text_is_the_path_it_spells(text: str) -> None:
    assert parser().parse_args([f"--input={text}"]).input == Path(text)
