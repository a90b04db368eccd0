"""What other domains read of the audit chain inside their own session: the board's audit
light verifies the chain with the operator's key; gateway workers poll :func:`head_seq` to
learn that something changed (every state change writes an audit entry)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.chain import verify as verify_chain
from andon.audit.keys import load_key
from andon.store.tables.audit import AuditHead

__all__ = ["head_seq", "load_key", "verify_chain"]


def head_seq(session: Session) -> int:
    """The sequence number of the newest audit entry (0 before the first)."""
    return int(session.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0)
