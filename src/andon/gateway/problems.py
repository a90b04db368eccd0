"""RFC 9457 problem documents as raw ASGI responses (the hot path has no framework)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from starlette.types import Send

from andon.core.errors import AndonError, BudgetExceeded, Unauthenticated
from andon.serve.records import Stop

MEDIA_TYPE = b"application/problem+json"
BASE = "https://andon.dev/problems/"


class GatewayProblem(Exception):
    """A refusal of the gateway itself (not a service error): status, kind and one line."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}
        self.extra = extra

    def document(self, instance: str) -> dict[str, Any]:
        """The problem document."""
        return {
            "type": BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            **self.extra,
        }


def from_error(exc: AndonError, *, token_sent: bool) -> GatewayProblem:
    """A service error as the gateway answers it (401s carry ``WWW-Authenticate``)."""
    headers = {}
    resets = exc.details.get("resets_at") if isinstance(exc, BudgetExceeded) else None
    if isinstance(resets, str):
        wait = (datetime.fromisoformat(resets) - datetime.now(UTC)).total_seconds()
        headers["retry-after"] = str(max(1, math.ceil(wait)))
    if isinstance(exc, Unauthenticated):
        headers["www-authenticate"] = 'Bearer error="invalid_token"' if token_sent else "Bearer"
    extra = dict(exc.details)
    if exc.field:
        extra["field"] = exc.field
    return GatewayProblem(
        exc.http_status, exc.slug(), exc.title, " ".join(str(exc).split()), headers=headers, **extra
    )


async def send_json(
    send: Send,
    status: int,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    media_type: bytes = b"application/json",
) -> None:
    """One complete JSON response."""
    data = json.dumps(body, separators=(",", ":"), default=str).encode()
    raw = [(b"content-type", media_type), (b"content-length", str(len(data)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


async def send_problem(send: Send, problem: GatewayProblem, instance: str) -> None:
    """The problem as a complete response."""
    await send_json(
        send,
        problem.status,
        problem.document(instance),
        headers=problem.headers,
        media_type=MEDIA_TYPE,
    )


def stopped(stop: Stop) -> GatewayProblem:
    """The 503 of an endpoint a cord stops: who stopped it, when and why."""
    return GatewayProblem(
        503,
        "stopped",
        "stopped",
        stop.message(),
        scope=stop.scope,
        target=stop.target,
        stopped_by=stop.by,
        stopped_at=stop.at.isoformat(),
    )
