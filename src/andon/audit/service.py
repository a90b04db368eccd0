"""Reading and verifying the audit log (writing happens inside every other service)."""

from __future__ import annotations

from sqlalchemy import select

from andon.audit import chain
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.store.tables import AuditEntry


def list_entries(
    ctx: Context,
    *,
    object_id: str | None = None,
    actor: str | None = None,
    after: int | None = None,
    limit: int = 50,
    newest_first: bool = True,
) -> list[chain.Entry]:
    """Entries filtered by object and actor, paged by ``seq`` (``after`` is exclusive)."""
    if not 1 <= limit <= 1000:
        raise Invalid("must be between 1 and 1000", field="limit")
    with ctx.db.read() as session:
        ctx.require("audit.read")
        stmt = select(AuditEntry)
        if object_id:
            stmt = stmt.where(AuditEntry.object_id == object_id)
        if actor:
            stmt = stmt.where(AuditEntry.actor == actor)
        if after is not None:
            stmt = stmt.where(AuditEntry.seq < after if newest_first else AuditEntry.seq > after)
        order = AuditEntry.seq.desc() if newest_first else AuditEntry.seq.asc()
        rows = session.scalars(stmt.order_by(order).limit(limit))
        return [
            chain.Entry(
                r.seq,
                r.id,
                as_utc(r.ts),
                r.actor,
                r.action,
                r.object_id,
                r.reason,
                r.change,
                r.change_digest,
                r.prev_hash,
                r.hash,
            )
            for r in rows
        ]


def verify(ctx: Context) -> chain.Verification:
    """Check the whole chain; needs ``audit.verify``."""
    with ctx.db.read() as session:
        ctx.require("audit.verify")
        return chain.verify(session)
