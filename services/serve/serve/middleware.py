"""ASGI middleware in front of the BentoML app: an unhandled error answered and logged at once,
the request body limit (413 before the body is read, whether or not the client sends its
length), 415 for a body that says it is not JSON, 400 for JSON that pydantic would misread or
refuse without naming where (a duplicated key, an over-long number), a /readyz, and 503s, that
say why the service is not ready, and an OpenAPI document (/docs.json) that is the OpenAPI 3.0
it says it is (to a GET or a HEAD)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from serve.body_checks import body_errors
from serve.errors import error_body, request_error
from serve.openapi import openapi_30

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("serve")


async def _answer(send: Send, status: int, body: dict[str, Any], head: bool = False) -> None:
    """`body` as JSON; to a HEAD, only the headers it would have."""
    content = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else content})


async def _read_body(receive: Receive, max_bytes: int | None = None) -> bytes | None:
    """The request's body, read whole; None once it is over `max_bytes`."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if max_bytes is not None and size > max_bytes:
            return None
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app behind: `body` whole, then what the server sends next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class UnhandledErrors:
    """A 500 at once, and the error logged with its traceback, for an exception nothing behind
    answered. BentoML's request timeout sits in front of this: it waits for a response to start
    and drops an exception that ends the request before one did, so a failed /metrics (a
    multiprocess file read while being made) answered nothing for 30 s, then uvicorn's bare
    500, and logged nothing. The API's own errors never get here: BentoML answers them. An
    error after the response started is logged and re-raised, for the server to close the
    connection."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_started(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_started)
        except Exception as error:
            request = f"{scope.get('method')} {scope.get('path')}"
            log.exception("%s failed", request)
            if started:
                raise
            kind = type(error)
            name = (
                kind.__qualname__
                if kind.__module__ == "builtins"
                else f"{kind.__module__}.{kind.__qualname__}"
            )
            message = f"{request} failed: {name} (the server's log has the cause)"
            await _answer(send, 500, {"error": message})


class BodyLimit:
    """413 for a request body over `max_bytes`. A declared length over the limit is refused
    before anything is read; a chunked body is read up to the limit, then refused."""

    def __init__(self, app: App, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _too_large(self) -> dict[str, Any]:
        return {"error": f"request body: larger than the limit of {self.max_bytes} bytes"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, {"error": "content-length: not a number"})
                return
            if int(declared) > self.max_bytes:
                await _answer(send, 413, self._too_large())
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): buffer the body, at most the limit, and replay it.
        body = await _read_body(receive, self.max_bytes)
        if body is None:
            await _answer(send, 413, self._too_large())
            return
        await self.app(scope, _replay(body, receive), send)


class JsonOnly:
    """415 for a request whose body declares a media type other than JSON. The API reads JSON
    only; BentoML would read a form or multipart body as its fields (a multipart one failed with
    500) and any other type as JSON. A request that declares none is read as JSON."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
            declared = dict(scope.get("headers") or []).get(b"content-type")
            if declared is not None:
                media_type = declared.split(b";", 1)[0].strip().lower()
                if media_type != b"application/json":
                    text = declared.decode("latin-1")
                    error = f"content-type: {text!r} is not application/json, which the API reads"
                    await _answer(send, 415, {"error": error})
                    return
        await self.app(scope, receive, send)


class BodyChecks:
    """400 for a POST body with a key given twice in an object or a number longer than pydantic
    reads (serve/body_checks.py), naming each where it is, in the shape of pydantic's errors.
    Behind BodyLimit: the body it reads whole is bounded."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive) or b""
        errors = body_errors(body)
        if errors:
            await _answer(send, 400, error_body(request_error(errors)))
            return
        await self.app(scope, _replay(body, receive), send)


def not_ready_error(detail: dict[str, str]) -> str:
    if "error" in detail:
        return f"not ready: {detail['error']}"
    return f"not ready: {detail.get('status', 'loading')}, waiting for {detail.get('waiting_for')}"


class ReadinessDetail:
    """While `status()` says something (loading, or why loading failed), GET /readyz answers
    503 with it, and so does any 503 the app answers (BentoML replaces the message of any
    error from 500 up with a generic one); once it says None the app's own answers go out."""

    def __init__(self, app: App, status: Callable[[], dict[str, str] | None]) -> None:
        self.app, self.status = app, status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") == "/readyz":
            detail = self.status()
            if detail is not None:
                await _answer(send, 503, detail)
                return
        replaced = False

        async def send_with_detail(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 503:
                detail = self.status()
                if detail is not None:
                    replaced = True
                    await _answer(send, 503, {"error": not_ready_error(detail), **detail})
                    return
            if not replaced:  # else the app's own 503 body, already answered
                await send(message)

        await self.app(scope, receive, send_with_detail)


class OpenApi30:
    """GET `path` (BentoML's OpenAPI document) answers the document in OpenAPI 3.0's dialect
    (serve/openapi.py), and HEAD `path` the headers of that answer; every other request passes
    untouched."""

    def __init__(self, app: App, path: str = "/docs.json") -> None:
        self.app, self.path = app, path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method")
        if scope["type"] != "http" or method not in ("GET", "HEAD") or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        head = method == "HEAD"
        sent: list[Message] = []

        async def keep(message: Message) -> None:
            sent.append(message)

        # The app answers a HEAD with the original document's length and no body to rewrite: it
        # is asked for the GET answer, whose body a HEAD then goes without.
        await self.app({**scope, "method": "GET"}, receive, keep)
        (start,) = (m for m in sent if m["type"] == "http.response.start")
        if start["status"] != 200:
            if head:
                sent = [start, {"type": "http.response.body", "body": b""}]
            for message in sent:
                await send(message)
            return
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        await _answer(send, 200, openapi_30(json.loads(body)), head)
