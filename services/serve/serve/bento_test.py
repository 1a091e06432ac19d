"""The Bento's pins (what the service needs and everything that requires, as installed) and
the build's options."""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import bentoml
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serve.bento import MissingDistribution, bento_version, exit_status, pinned_closure
from serve.settings import VERSION


def install(site: Path, name: str, version: str, *requires: str) -> None:
    """A distribution's metadata, as pip leaves it in site-packages."""
    info = site / f"{name.replace('-', '_').lower()}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")


def test_pins_what_is_required_here_and_nothing_else(tmp_path: Path) -> None:
    install(
        tmp_path,
        "app",
        "2.0",
        "lib>=1",
        'plugin; extra == "plugins"',
        'legacy; python_version < "3"',
    )
    install(tmp_path, "lib", "1.4", "Base_Utils")
    install(tmp_path, "base-utils", "0.3")
    install(tmp_path, "plugin", "5.0")
    install(tmp_path, "unrelated", "9.9")

    assert pinned_closure(["app"], [str(tmp_path)]) == ["app==2.0", "base-utils==0.3", "lib==1.4"]
    assert pinned_closure(["app[plugins]"], [str(tmp_path)]) == [
        "app==2.0",
        "base-utils==0.3",
        "lib==1.4",
        "plugin==5.0",
    ]


def test_a_required_distribution_that_is_not_installed_is_named_with_who_requires_it(
    tmp_path: Path,
) -> None:
    install(tmp_path, "app", "2.0", "lib")
    install(tmp_path, "lib", "1.4", "gone>=3")

    with pytest.raises(MissingDistribution, match=r"^lib 1\.4 requires gone, which is not"):
        pinned_closure(["app"], [str(tmp_path)])
    with pytest.raises(MissingDistribution, match=r"^the service requires absent, which is not"):
        pinned_closure(["absent"], [str(tmp_path)])


@dataclass(frozen=True)
class Edge:
    target: int
    spelling: int  # how the requirement writes the target's name
    extras: frozenset[str] = frozenset()  # the target's extras it asks for
    only_with: str | None = None  # the requirer's extra this requirement belongs to
    never: bool = False  # a marker that is false on every interpreter this runs on


@dataclass
class Graph:
    edges: list[list[Edge]] = field(default_factory=list)
    roots: list[tuple[int, frozenset[str]]] = field(default_factory=list)


EXTRAS = st.frozensets(st.sampled_from(["a", "b"]), max_size=2)


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    size = draw(st.integers(1, 8))
    edge = st.builds(
        Edge,
        target=st.integers(0, size - 1),
        spelling=st.integers(0, 2),
        extras=EXTRAS,
        only_with=st.none() | st.sampled_from(["a", "b"]),
        never=st.booleans(),
    )
    edges = [draw(st.lists(edge, max_size=4)) for _ in range(size)]
    roots = draw(st.lists(st.tuples(st.integers(0, size - 1), EXTRAS), min_size=1, max_size=3))
    return Graph(edges, roots)


def spelled(index: int, spelling: int) -> str:
    return (f"Dist_{index}", f"dist-{index}", f"DIST.{index}")[spelling]


def requirement(edge: Edge) -> str:
    extras = f"[{','.join(sorted(edge.extras))}]" if edge.extras else ""
    markers = []
    if edge.only_with:
        markers.append(f'extra == "{edge.only_with}"')
    if edge.never:
        markers.append('python_version < "3"')
    return (
        spelled(edge.target, edge.spelling)
        + extras
        + (f"; {' and '.join(markers)}" if markers else "")
    )


def reachable(graph: Graph) -> set[int]:
    """What an installer would install for the roots, walked on the model, not the metadata."""
    seen: set[tuple[int, str]] = set()
    pending = [(node, extra) for node, extras in graph.roots for extra in ("", *extras)]
    while pending:
        node, extra = pending.pop()
        if (node, extra) in seen:
            continue
        seen.add((node, extra))
        for edge in graph.edges[node]:
            if edge.never or (edge.only_with is not None and edge.only_with != extra):
                continue
            pending += [(edge.target, e) for e in ("", *edge.extras)]
    return {node for node, _ in seen}


@given(graphs())
def test_pins_exactly_what_an_installer_would_install(graph: Graph) -> None:
    with tempfile.TemporaryDirectory() as directory:
        site = Path(directory)
        for index, edges in enumerate(graph.edges):
            install(site, f"Dist_{index}", f"1.{index}", *map(requirement, edges))
        roots = [
            spelled(node, 0) + (f"[{','.join(sorted(extras))}]" if extras else "")
            for node, extras in graph.roots
        ]

        pins = pinned_closure(roots, [str(site)])

    expected = sorted(reachable(graph), key=lambda node: f"dist-{node}")
    assert pins == [f"Dist_{node}==1.{node}" for node in expected]


def taken_as_it_is(version: str) -> bool:
    """BentoML's own rule, through its public Tag: accepted, and not lowercased."""
    try:
        return bentoml.Tag("flight_delay_service", version).version == version
    except ValueError:
        return False


@given(
    st.from_regex(VERSION, fullmatch=True)
    | st.text(alphabet="aZ09_.- !/:", max_size=70)
    # Around BentoML's length limit.
    | st.integers(60, 66).map(lambda length: "v" * length)
)
def test_a_bento_version_is_accepted_exactly_when_bentoml_takes_it_as_it_is(version: str) -> None:
    if taken_as_it_is(version):
        assert bento_version(version) == version
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="is not a Bento version"):
            bento_version(version)


@given(
    st.integers(-300, 600).map(str)
    | st.from_regex(r"\s*[+-]?[0-9]{1,3}\s*", fullmatch=True)
    | st.text(max_size=5)
)
def test_an_exit_status_is_a_whole_number_from_0_to_255(text: str) -> None:
    if text.isascii() and text.isdigit() and int(text) <= 255:
        assert exit_status(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="is not an exit status"):
            exit_status(text)
