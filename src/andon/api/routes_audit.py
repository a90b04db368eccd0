"""/api/v1: the audit log, the outbox and the board."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from andon.api.deps import Ctx, CursorParam, Limit, decode_cursor, encode_cursor
from andon.audit import service as audit
from andon.board import service as board
from andon.core.errors import Invalid
from andon.events import service as events

router = APIRouter()


def _seq_cursor(cursor: str | None) -> int | None:
    raw = decode_cursor(cursor)
    if raw is None:
        return None
    if not raw.isdigit():
        raise Invalid("is not a cursor this API issued", field="cursor")
    return int(raw)


@router.get("/audit", tags=["audit"])
def audit_log(
    ctx: Ctx,
    object_id: str | None = None,
    actor: str | None = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Audit entries, newest first, filtered by object and actor."""
    entries = audit.list_entries(
        ctx, object_id=object_id, actor=actor, after=_seq_cursor(cursor), limit=limit + 1
    )
    more = len(entries) > limit
    entries = entries[:limit]
    return {
        "items": [e.as_dict() for e in entries],
        "next_cursor": encode_cursor(str(entries[-1].seq)) if more else None,
    }


@router.post("/audit/verify", tags=["audit"])
def audit_verify(ctx: Ctx) -> dict[str, Any]:
    """Walk the hash chain; ``ok`` is false with the first bad entry when tampered."""
    return audit.verify(ctx).as_dict()


@router.get("/events", tags=["events"])
def list_events(
    ctx: Ctx,
    type: str | None = Query(None, description="Only events of this type."),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Outbox events in order; follow ``next_cursor`` to read on."""
    after = _seq_cursor(cursor) or 0
    items = events.list_events(ctx, after=after, limit=limit, type_=type)
    last = items[-1].seq if items else after
    return {
        "items": [e.as_dict() for e in items],
        "next_cursor": encode_cursor(str(last)) if items else cursor,
    }


@router.get("/status", tags=["board"])
def status(ctx: Ctx) -> dict[str, Any]:
    """The andon board."""
    lights = board.board(ctx)
    return {"board": board.worst(lights), "areas": [light.as_dict() for light in lights]}
