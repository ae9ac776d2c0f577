"""A cap on request bodies, on every route, before anything reads or parses them.

A pure ASGI middleware (no Starlette ``BaseHTTPMiddleware``, which would buffer):

- a ``Content-Length`` over the cap is answered 413 at once, and the body is
  never read (uvicorn closes the connection after the answer);
- a body without ``Content-Length`` (chunked) is counted as the app reads it;
  the chunk that crosses the cap ends the request with 413, so at most the cap
  plus one chunk (uvicorn reads 64 KiB at a time) is ever held in memory.

The answer is the API's error shape: ``{"error": {"code": "body_too_large", ...}}``.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLarge(Exception):
    """The body grew past the cap while the app was reading it."""


def too_large_body(limit: int) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": "body_too_large",
                "message": f"the request body is larger than {limit} bytes",
                "details": [{"max_bytes": limit}],
            }
        }
    ).encode("utf-8")


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413, before they are parsed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        over = False  # the body crossed the cap: whatever the app answers, we answer 413
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = not started  # else an answer is under way: just stop reading
                    raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # FastAPI turns a failed body read into its own 400: not sent
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLarge:
            if not over:
                raise
        if over:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = too_large_body(self.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    """The declared length, if any (a malformed one is refused by uvicorn before the app;
    were it not, the body would still be counted as it is read)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
