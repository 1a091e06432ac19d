"""Digests of files and trees: the bytes' sha256, whatever their size, for every file and only
files, keyed by the path relative to the root."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.digest import BLOCK_BYTES, sha256_of, sha256_of_stream, tree_sha256

# Relative paths of one to three segments, none a prefix of another: files, not directories.
names = st.text("abcxyz019_-", min_size=1, max_size=8)
trees = st.dictionaries(
    st.lists(names, min_size=1, max_size=3).map(lambda parts: "/".join(parts)),
    st.binary(),
    max_size=6,
).filter(lambda tree: not any(a != b and b.startswith(a + "/") for a in tree for b in tree))


@given(st.binary())
def test_a_stream_digest_is_the_sha256_of_its_bytes(content: bytes) -> None:
    assert sha256_of_stream(io.BytesIO(content)) == hashlib.sha256(content).hexdigest()


def test_a_file_larger_than_a_block_is_read_whole(tmp_path: Path) -> None:
    content = bytes(range(256)) * (BLOCK_BYTES // 256 * 2 + 3)
    (tmp_path / "big").write_bytes(content)
    assert sha256_of(tmp_path / "big") == hashlib.sha256(content).hexdigest()


@given(trees)
def test_a_tree_digest_has_every_file_and_only_files(
    tmp_path_factory: pytest.TempPathFactory, tree: dict[str, bytes]
) -> None:
    root = tmp_path_factory.mktemp("tree")
    for relative, content in tree.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    (root / "empty-directory").mkdir()
    assert tree_sha256(root) == {
        relative: hashlib.sha256(content).hexdigest() for relative, content in tree.items()
    }


def test_a_tree_digest_can_be_limited_to_subdirectories(tmp_path: Path) -> None:
    for relative in ("data/a/x", "data/b", "build/y", "z"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(relative)
    assert set(tree_sha256(tmp_path, "data")) == {"data/a/x", "data/b"}
    assert set(tree_sha256(tmp_path, "data", "build")) == {"data/a/x", "data/b", "build/y"}
