"""Tables of the event outbox and its consumers' cursors. Written by ``andon.events``
(and each service's transaction, through it) only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Sequence, Timestamp


class OutboxEvent(Base):
    __tablename__ = "outbox"
    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(60), index=True)
    object_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class ConsumerCursor(Base):
    __tablename__ = "outbox_cursors"
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Sequence, default=0)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
