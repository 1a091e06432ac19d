import logging

import pytest

from train.progress import Progress


def test_without_a_terminal_progress_is_log_lines(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    progress = Progress("auto")  # pytest's stderr is not a terminal
    assert not progress.bars
    with caplog.at_level(logging.INFO, logger="train"):
        assert list(progress.iterate(range(3), 3, "epochs", leave=True)) == [0, 1, 2]
        progress.line("epoch 1/3: loss 0.5")
    assert "epoch 1/3: loss 0.5" in caplog.text
    assert "it/s" not in capsys.readouterr().err


def test_bars_draw_on_request_and_lines_go_above_them(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress("bars")
    assert list(progress.iterate(range(4), 4, "epoch 1", leave=True)) == [0, 1, 2, 3]
    progress.line("done")
    err = capsys.readouterr().err
    assert "epoch 1: 100%" in err and "4/4" in err
    assert "train: done" in err


def test_only_the_main_process_reports(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress("bars", enabled=False)
    assert list(progress.iterate(range(2), 2, "epochs", leave=True)) == [0, 1]
    progress.line("hidden")
    assert capsys.readouterr().err == ""
