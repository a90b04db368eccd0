"""What other domains read of the audit chain inside their own session: the board's audit
light verifies the chain with the operator's key; gateway workers poll :func:`head_seq` to
learn that something changed (every state change writes an audit entry)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.chain import verify as verify_chain
from andon.audit.keys import load_key
from andon.store.tables.audit import AuditEntry, AuditHead

__all__ = ["EntryRef", "entries_for", "head_seq", "load_key", "verify_chain"]


def head_seq(session: Session) -> int:
    """The sequence number of the newest audit entry (0 before the first)."""
    return int(session.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0)


@dataclass(frozen=True, slots=True)
class EntryRef:
    """One audit entry, as another domain cites it."""

    id: str
    seq: int
    action: str
    object_id: str
    change: dict[str, Any]


def entries_for(
    session: Session, object_ids: Iterable[str], actions: Iterable[str]
) -> list[EntryRef]:
    """The entries about ``object_ids`` whose action is one of ``actions``, newest first."""
    ids, wanted = list(object_ids), list(actions)
    if not ids or not wanted:
        return []
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_id.in_(ids), AuditEntry.action.in_(wanted))
        .order_by(AuditEntry.seq.desc())
    )
    return [EntryRef(e.id, e.seq, e.action, e.object_id, dict(e.change)) for e in rows]
