"""A bound on every request body, enforced before the body is read.

:class:`BodyLimit` is pure ASGI and wraps the whole application (the API under /api/v1 and the
console), so it runs before authentication, routing and body parsing. A request whose
``Content-Length`` exceeds the limit is answered 413 at once, with nothing of its body read; a
body sent without a length (chunked transfer) is counted as it arrives and refused as soon as
the count passes the limit, so the server never holds more than the limit of one body. The
413 response closes the connection: the server reads no further bytes of a refused body.

The limit is ``ANDON_MAX_BODY_BYTES`` (:attr:`andon.core.config.Settings.max_body_bytes`); no
route takes file uploads, so one limit serves all.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from andon.api.problems import problem_response


class _TooLarge(Exception):
    """Raised from ``receive`` once a streamed body passes the limit."""


def _problem(limit: int, path: str, *, declared: int | None) -> dict[str, Any]:
    said = f"declares {declared:,} bytes" if declared is not None else "is larger than that"
    return {
        "type": "https://andon.dev/problems/too-large",
        "title": "request body too large",
        "detail": f"the request body may hold at most {limit:,} bytes and this one {said}",
        "instance": path,
        "field": "body",
        "limit": limit,
        "hint": "send less (split the work), or ask the operator to raise ANDON_MAX_BODY_BYTES",
    }


def _declared_length(scope: Scope) -> int | None:
    """The ``Content-Length`` header as a number; None when absent or not a number."""
    value = Headers(scope=scope).get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with a 413 problem, before reading them."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send, declared=declared)
            return
        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _TooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to a body it could not read; the 413 replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send, declared=None)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, *, declared: int | None
    ) -> None:
        doc = _problem(self.limit, scope.get("path", ""), declared=declared)
        response = problem_response(413, doc, headers={"Connection": "close"})
        await response(scope, receive, send)
