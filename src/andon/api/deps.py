"""Authentication and the shared request parameters of /api/v1.

Every request under ``/api/v1`` except the OpenAPI document and its docs page must carry
``Authorization: Bearer <token>``. :class:`BearerAuth` checks it before routing or body
parsing, so an anonymous caller learns nothing about the API beyond the published document
(not even whether its JSON was well formed); routes take the resulting context through
:data:`Ctx`, which also declares the security scheme in the OpenAPI document.

The OpenAPI document is open on purpose: it describes the shape of the API, holds no data,
and clients, code generators and fuzzers need it before they hold a token.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from andon.api import operations
from andon.api.problems import error_response
from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import AndonError, Invalid, Unauthenticated

PREFIX = "/api/v1"
_SCOPE_KEY = "andon.context"
_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="andon_<43 url-safe characters>",
    description="An API token from `andon token create` or POST /api/v1/tokens.",
)


def _token(header: str | None) -> str:
    if not header:
        raise Unauthenticated("a token is required: send 'Authorization: Bearer <token>'")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return value.strip()


class BearerAuth:
    """Authenticate every ``/api/v1`` request except the ``open`` paths, before anything else."""

    def __init__(self, app: ASGIApp, *, open_paths: Collection[str]) -> None:
        self.app = app
        self.open_paths = frozenset(open_paths)

    def _protects(self, path: str) -> bool:
        return (path == PREFIX or path.startswith(PREFIX + "/")) and path not in self.open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._protects(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        header = request.headers.get("authorization")
        try:
            token = _token(header)
            state = request.app.state
            ctx = await run_in_threadpool(
                auth.authenticate, state.db, state.settings, token, clock=state.clock
            )
        except AndonError as exc:
            response = error_response(exc, scope["path"], token_sent=header is not None)
            await response(scope, receive, send)
            return
        scope[_SCOPE_KEY] = ctx
        await self.app(scope, receive, send)


async def current_context(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Context:
    """The context :class:`BearerAuth` authenticated for this request."""
    ctx = request.scope.get(_SCOPE_KEY)
    if not isinstance(ctx, Context):
        raise Unauthenticated("a token is required: send 'Authorization: Bearer <token>'")
    return ctx


async def checked_query(request: Request) -> None:
    """Refuse undeclared query parameters (a mistyped filter must not return everything) and
    NUL characters anywhere in the URL (no store keeps them in text)."""
    if "\x00" in request.scope["path"]:
        raise Invalid("must not contain NUL characters", field="path")
    declared = operations.at(request.app, request.scope["path"]).get(request.method, frozenset())
    for name, value in request.query_params.multi_items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise Invalid(
                f"is not a query parameter of this operation (it takes: {known})",
                field=name.replace("\x00", "") or "(empty name)",
            )
        if "\x00" in value:
            raise Invalid("must not contain NUL characters", field=name)


def _instant(value: object) -> datetime | None:
    """An ISO 8601 instant (UTC when it names no offset) in a range every timezone can shift."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError("must be an ISO 8601 instant such as 2026-11-23T09:00:00Z") from None
    if not 1900 <= at.year <= 9000:
        raise ValueError("must be an instant between the years 1900 and 9000")
    return at if at.tzinfo else at.replace(tzinfo=UTC)


Ctx = Annotated[Context, Depends(current_context)]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
CursorParam = Annotated[
    str | None, Query(max_length=1000, description="Opaque cursor from `next_cursor`.")
]
Instant = Annotated[
    datetime | None,
    Query(description="ISO 8601 instant (UTC when no offset is given); default now."),
    BeforeValidator(_instant),
]
