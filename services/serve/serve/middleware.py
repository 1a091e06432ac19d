"""ASGI middleware in front of the BentoML app: the request body limit (413 before the body is
read, whether or not the client sends its length) and a /readyz that says why it is not ready."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


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
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await _answer(send, 413, self._too_large())
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


class ReadinessDetail:
    """While `status()` says something (loading, or why loading failed), GET /readyz answers
    503 with it; once it says None the app's own /readyz answers."""

    def __init__(self, app: App, status: Callable[[], dict[str, str] | None]) -> None:
        self.app, self.status = app, status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == "/readyz":
            detail = self.status()
            if detail is not None:
                await _answer(send, 503, detail)
                return
        await self.app(scope, receive, send)
