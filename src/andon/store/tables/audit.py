"""Tables of the tamper-evident audit chain (entries and the keyed head). Written by
``andon.audit`` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Sequence, Timestamp


class AuditEntry(Base):
    """Append-only, hash-chained. ``hash`` covers every other column."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    ts: Mapped[datetime] = mapped_column(Timestamp)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(80), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    change: Mapped[dict[str, Any]] = mapped_column(JSON)
    change_digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The id of the audit key whose HMAC ``hash`` is; NULL for legacy (plain SHA-256) entries.
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)


class AuditHead(Base):
    """The single row naming the chain's last entry; appends lock it, verify checks it.

    ``keyed_from`` is the first seq hashed with the audit key (migration 0010 set it to the
    head's seq + 1); entries before it are legacy, unkeyed. Anchors sign it, so moving it to
    pass off re-hashed entries as legacy is caught by ``andon audit verify --anchor``.
    """

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Sequence)
    hash: Mapped[str] = mapped_column(String(64))
    keyed_from: Mapped[int] = mapped_column(Sequence, server_default="1")


Index("ix_audit_log_ts", AuditEntry.ts)
