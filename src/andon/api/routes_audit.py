"""/api/v1: the audit log, the outbox and the board."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from andon.api import resources as r
from andon.api.deps import Ctx, CursorParam, Limit
from andon.api.paging import seq_cursor, seq_page
from andon.audit import service as audit
from andon.audit.verification import Verification
from andon.board import service as board
from andon.events import service as events

router = APIRouter()


@router.get("/audit", tags=["audit"], response_model=r.AuditPage)
def audit_log(
    ctx: Ctx,
    object_id: str | None = Query(None, description="Only entries about this object."),
    actor: str | None = Query(None, description="Only entries by this principal."),
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Audit entries, newest first."""
    entries = audit.list_entries(
        ctx,
        object_id=object_id,
        actor=actor,
        after=seq_cursor("audit", cursor),
        limit=limit + 1,
    )
    return seq_page("audit", entries, lambda e: e.seq, limit)


@router.post("/audit/verify", tags=["audit"], response_model=Verification)
def audit_verify(ctx: Ctx) -> dict[str, Any]:
    """Walk the hash chain; ``ok`` is false with the first bad entry when tampered."""
    return audit.verify(ctx).as_dict()


@router.get("/events", tags=["events"], response_model=r.EventPage)
def list_events(
    ctx: Ctx,
    type_: str | None = Query(None, alias="type", description="Only events of this type."),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Outbox events, oldest first."""
    items = events.list_events(
        ctx, after=seq_cursor("events", cursor) or 0, limit=limit + 1, type_=type_
    )
    return seq_page("events", items, lambda e: e.seq, limit)


@router.get("/status", tags=["board"], response_model=r.BoardResponse)
def status(ctx: Ctx) -> dict[str, Any]:
    """The andon board: one light per area, and the worst of them."""
    lights = board.board(ctx)
    return {"board": board.worst(lights), "areas": [light.as_dict() for light in lights]}
