"""Request dependencies: the database and the authenticated context."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Invalid, Unauthenticated

T = TypeVar("T")


def current_context(request: Request) -> Context:
    """Authenticate ``Authorization: Bearer <token>`` (or the console's cookie)."""
    header = request.headers.get("authorization")
    token: str | None = None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        token = value.strip()
    else:
        token = request.cookies.get("andon_token")
    if not token:
        raise Unauthenticated("a token is required: send 'Authorization: Bearer <token>'")
    state = request.app.state
    return auth.authenticate(state.db, state.settings, token, clock=state.clock)


Ctx = Annotated[Context, Depends(current_context)]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
CursorParam = Annotated[str | None, Query(description="Opaque cursor from next_cursor.")]


def encode_cursor(value: str) -> str:
    """An opaque cursor for a sort key."""
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The sort key inside a cursor, or :class:`Invalid`."""
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise Invalid("is not a cursor this API issued", field="cursor") from None


def page(
    items: Sequence[T], key: Callable[[T], str], cursor: str | None, limit: int
) -> dict[str, Any]:
    """One page of ``items`` (sorted by ``key``) after ``cursor``, with the next cursor."""
    after = decode_cursor(cursor)
    rest = [i for i in items if after is None or key(i) > after]
    chunk = rest[:limit]
    more = len(rest) > limit
    return {
        "items": [i.as_dict() for i in chunk],  # type: ignore[attr-defined]
        "next_cursor": encode_cursor(key(chunk[-1])) if more and chunk else None,
    }
