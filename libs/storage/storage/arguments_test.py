import argparse

import pytest

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


@pytest.mark.parametrize("text", [" ", "~", "$HOME", "-", "data dir/ x "])
def test_only_empty_is_refused_and_other_text_is_taken_literally(text: str) -> None:
    # Nothing is stripped or expanded: a name of spaces, `~` and `$HOME` name those files.
    assert str(parser().parse_args([f"--input={text}"]).input) == text
