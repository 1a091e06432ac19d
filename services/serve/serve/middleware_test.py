"""The middleware on its own, with a stand-in ASGI app: a body declared as something other than
JSON gets 415 before the app sees it, a 503 while loading says why, and the OpenAPI document
goes out in OpenAPI 3.0's dialect."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest

from serve.middleware import (
    BodyChecks,
    JsonOnly,
    Message,
    OpenApi30,
    ReadinessDetail,
    Receive,
    Scope,
    Send,
    UnhandledErrors,
)


class App:
    """Answers every request with `status` and a generic body, as BentoML answers an error; a
    HEAD, as Starlette does, with the headers alone."""

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.status, self.called, self.received = status, False, b""
        self.body = {"error": "An unexpected error has occurred"} if body is None else body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        while True:
            message = await receive()
            self.received += message.get("body", b"")
            if not message.get("more_body", False):
                break
        body = json.dumps(self.body).encode()
        headers = [(b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


def answer(
    middleware: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: Sequence[bytes] = (b"{}",),
) -> tuple[int, dict[bytes, bytes], bytes]:
    """The status, headers and body `middleware` answers to a request whose body comes in
    `chunks`."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[Message] = []
    unread = list(chunks)

    async def receive() -> Message:
        if not unread:
            return {"type": "http.disconnect"}
        chunk = unread.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(unread)}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    (start,) = (m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def call(
    middleware: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: Sequence[bytes] = (b"{}",),
) -> tuple[int, Any]:
    """The status and JSON body `middleware` answers to a request whose body comes in
    `chunks`."""
    status, _, body = answer(middleware, method, path, headers, chunks)
    return status, json.loads(body)


@pytest.mark.parametrize(
    "content_type",
    [
        # Before: multipart failed with a 500, the others were read as their fields or as JSON.
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/octet-stream",
        "application/jsonl",
    ],
)
def test_a_body_declared_as_not_json_gets_415_naming_it(content_type: str) -> None:
    app = App()
    status, body = call(JsonOnly(app), "POST", "/predict", {"content-type": content_type})
    assert status == 415
    assert body == {
        "error": f"content-type: {content_type!r} is not application/json, which the API reads"
    }
    assert not app.called


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "application/json"}, {"content-type": "Application/JSON; charset=utf-8"}, {}],
)
def test_json_or_no_declared_type_reaches_the_app(headers: dict[str, str]) -> None:
    app = App()
    assert call(JsonOnly(app), "POST", "/predict", headers)[0] == 200
    assert app.called


def test_a_get_is_not_checked() -> None:
    app = App()
    assert call(JsonOnly(app), "GET", "/metrics", {"content-type": "text/plain"})[0] == 200


@pytest.mark.parametrize(
    ("detail", "error"),
    [
        (
            {"status": "loading", "waiting_for": "the model, statistics and online store"},
            "not ready: loading, waiting for the model, statistics and online store",
        ),
        (
            {"status": "failed", "error": "no online store at s3://b/x"},
            "not ready: no online store at s3://b/x",
        ),
    ],
)
def test_a_503_while_not_ready_says_why(detail: dict[str, str], error: str) -> None:
    # Before, BentoML's generic message: "An unexpected error has occurred".
    middleware = ReadinessDetail(App(503), lambda: detail)
    assert call(middleware, "POST", "/predict", {}) == (503, {"error": error, **detail})
    assert call(middleware, "GET", "/readyz", {}) == (503, detail)


def test_once_ready_the_app_answers_alone() -> None:
    middleware = ReadinessDetail(App(503), lambda: None)
    assert call(middleware, "POST", "/predict", {}) == (
        503,
        {"error": "An unexpected error has occurred"},
    )


NULLABLE = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_the_openapi_document_goes_out_as_openapi_30() -> None:
    document = {"openapi": "3.0.2", "components": {"schemas": {"X": NULLABLE}}}
    status, body = call(OpenApi30(App(body=document)), "GET", "/docs.json", {})
    assert status == 200
    assert body["components"]["schemas"]["X"] == {"type": "string", "nullable": True}


@pytest.mark.parametrize("status", [200, 500])
def test_a_head_of_the_openapi_document_has_the_headers_of_its_get(status: int) -> None:
    # Before: a HEAD passed untouched, its content-length that of BentoML's document, not of the
    # 3.0 one a GET answers.
    document = {"openapi": "3.0.2", "components": {"schemas": {"X": NULLABLE}}}
    get = answer(OpenApi30(App(status, document)), "GET", "/docs.json", {})
    head = answer(OpenApi30(App(status, document)), "HEAD", "/docs.json", {})
    assert head == (get[0], get[1], b"")
    assert int(head[1][b"content-length"]) == len(get[2])


@pytest.mark.parametrize(
    ("status", "method", "path"),
    [(500, "GET", "/docs.json"), (200, "POST", "/docs.json"), (200, "GET", "/other")],
)
def test_other_answers_pass_untouched(status: int, method: str, path: str) -> None:
    assert call(OpenApi30(App(status, NULLABLE)), method, path, {}) == (status, NULLABLE)


def test_a_duplicated_key_gets_400_naming_it_before_the_app() -> None:
    app = App()
    chunks = [b'{"flights": [{"carrier": "UA", ', b'"carrier": "AA"}]}']
    status, body = call(BodyChecks(app), "POST", "/predict", {}, chunks)
    assert (status, body) == (
        400,
        {
            "error": "1 validation error for PredictRequest",
            "detail": [
                {
                    "type": "duplicate_key",
                    "loc": ["flights", 0, "carrier"],
                    "msg": "the key 'carrier' is given twice or more",
                }
            ],
        },
    )
    assert not app.called


@pytest.mark.parametrize("chunks", [[b'{"flights": ', b"[]}"], [b'{"flights": [']])
def test_any_other_body_reaches_the_app_whole(chunks: list[bytes]) -> None:
    app = App()
    assert call(BodyChecks(app), "POST", "/predict", {}, chunks)[0] == 200
    assert app.received == b"".join(chunks)


class Failing:
    """Raises, before its answer starts or after."""

    def __init__(self, after_start: bool) -> None:
        self.after_start = after_start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.after_start:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise LookupError("a file being made")


def test_an_unhandled_error_gets_a_500_naming_the_request_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Behind BentoML's request timeout, an error nothing answered meant no answer for 30 s."""
    status, body = call(UnhandledErrors(Failing(after_start=False)), "GET", "/metrics", {})
    assert status == 500
    assert body == {"error": "GET /metrics failed: LookupError (the server's log has the cause)"}
    (record,) = caplog.records
    assert record.getMessage() == "GET /metrics failed" and record.exc_info is not None
    assert record.exc_info[0] is LookupError


def test_an_error_after_the_answer_started_is_logged_and_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A second start would be a protocol error: the server closes the connection instead."""
    with pytest.raises(LookupError):
        answer(UnhandledErrors(Failing(after_start=True)), "GET", "/metrics", {})
    (record,) = caplog.records
    assert record.getMessage() == "GET /metrics failed"


@pytest.mark.parametrize("status", [200, 404, 503])
def test_answers_pass_the_error_handler_untouched(status: int) -> None:
    app = App(status, body={"status": status})
    assert call(UnhandledErrors(app), "POST", "/predict", {}, [b'{"a": 1}']) == (
        status,
        {"status": status},
    )
    assert app.received == b'{"a": 1}'
