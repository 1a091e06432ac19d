"""The page server answers GETs with what its function returns for the path, and a failing
function costs that request its answer, not the server."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopback.pages import page_server


class Page:
    """What the module's server answers, set by each example."""

    body = b""
    content_type = "text/plain"
    seen: ClassVar[list[str]] = []


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    def answer(path: str) -> tuple[bytes, str]:
        Page.seen.append(path)
        return Page.body, Page.content_type

    with page_server(answer) as base:
        yield base


@given(st.binary(max_size=4096), st.sampled_from(["text/plain", "application/json"]))
def test_a_get_is_answered_with_the_page_for_its_path(
    url: str, body: bytes, content_type: str
) -> None:
    Page.body, Page.content_type, Page.seen = body, content_type, []
    with urllib.request.urlopen(f"{url}/metrics?x=1", timeout=10) as response:
        assert response.read() == body
        assert response.headers["Content-Type"] == content_type
    assert Page.seen == ["/metrics?x=1"]


def test_a_failing_answer_drops_that_request_only() -> None:
    def answer(path: str) -> tuple[bytes, str]:
        if path == "/bad":
            raise ValueError("not this one")
        return b"ok", "text/plain"

    with page_server(answer) as url:
        # No response at all: an error status (an HTTPError) would not do.
        with pytest.raises(http.client.RemoteDisconnected):
            urllib.request.urlopen(f"{url}/bad", timeout=10)
        with urllib.request.urlopen(f"{url}/good", timeout=10) as response:
            assert response.read() == b"ok"
