import json
from pathlib import Path

import pytest

from benchmarks.ci import plot

PNG = b"\x89PNG\r\n\x1a\n"
MONOREPO = {key: 100.0 + n for n, (_, key, _) in enumerate(plot.CASES)}
POLYREPO = {key: 500.0 for _, _, key in plot.CASES if key}


def report(medians: dict[str, float], runs: int = 3) -> dict[str, object]:
    """A report as run.py saves it (the fields the chart reads)."""
    return {"date": "2026-12-05T17:00:00+00:00", "commit": "abc1234", "runs": [{}] * runs,
            "medians": medians}  # fmt: skip


def draw(tmp_path: Path, content: str) -> tuple[Path, list[str]]:
    (tmp_path / "ci.json").write_text(content)
    output = tmp_path / "charts" / "ci.png"
    return output, ["--input", str(tmp_path / "ci.json"), "--output", str(output)]


@pytest.mark.parametrize("medians", [MONOREPO, {**MONOREPO, **POLYREPO}])
def test_a_report_is_drawn_with_or_without_the_polyrepo(
    tmp_path: Path, medians: dict[str, float]
) -> None:
    # A --monorepo-only report has no polyrepo medians; drawing one raised KeyError.
    output, argv = draw(tmp_path, json.dumps(report(medians)))
    plot.main(argv)
    assert output.read_bytes().startswith(PNG)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (None, "cannot read {input}: No such file or directory"),
        ("{not json", "{input} is not JSON: "),
        ("[1]", "{input} is not a report of benchmarks/ci/run.py: it has no medians"),
        # As run.py saves it before its first run has finished.
        (
            json.dumps(report({}, runs=0)),
            "{input} has no median of "
            + ", ".join(key for _, key, _ in plot.CASES)
            + " (0 runs in it)",
        ),
    ],
)
def test_an_input_that_is_not_a_finished_report_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, named: str
) -> None:
    output, argv = draw(tmp_path, content or "")
    if content is None:
        (tmp_path / "ci.json").unlink()
    with pytest.raises(SystemExit) as exit:
        plot.main(argv)
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert "argument --input: " + named.format(input=tmp_path / "ci.json") in error
    assert not output.parent.exists()


def test_an_output_it_cannot_write_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output, argv = draw(tmp_path, json.dumps(report(MONOREPO)))
    output.parent.write_text("")  # a file where the chart's directory would be
    with pytest.raises(SystemExit) as exit:
        plot.main(argv)
    assert exit.value.code == 2
    assert f"argument --output: cannot write {output}: " in capsys.readouterr().err
