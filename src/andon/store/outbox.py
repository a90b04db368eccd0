"""The outbox: typed events written in the same transaction as the change they describe.

Consumers read by cursor with at-least-once delivery: :func:`read_batch` returns events after
the consumer's saved position, and :func:`ack` moves the position only after the consumer has
handled them. A consumer that crashes between the two sees the batch again, so handlers must
be idempotent (the event ``id`` is the natural key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from andon.core.clock import as_utc
from andon.core.errors import Invalid
from andon.core.ids import new_id
from andon.store.tables.events import ConsumerCursor, OutboxEvent


@dataclass(frozen=True, slots=True)
class Event:
    """One outbox event as consumers see it."""

    seq: int
    id: str
    type: str
    object_id: str
    payload: dict[str, Any]
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seq": self.seq,
            "id": self.id,
            "type": self.type,
            "object_id": self.object_id,
            "payload": self.payload,
            "created_at": self.created_at.isoformat(),
        }


def emit(
    session: Session, type_: str, object_id: str, payload: dict[str, Any], at: datetime
) -> str:
    """Add an event to the outbox inside the caller's transaction; returns its id."""
    event_id = new_id("event")
    session.add(
        OutboxEvent(id=event_id, type=type_, object_id=object_id, payload=payload, created_at=at)
    )
    return event_id


def _to_event(row: OutboxEvent) -> Event:
    return Event(row.seq, row.id, row.type, row.object_id, row.payload, as_utc(row.created_at))


def list_events(
    session: Session, *, after: int = 0, limit: int = 100, type_: str | None = None
) -> list[Event]:
    """Events with ``seq > after`` in order, optionally of one type."""
    if limit < 1 or limit > 1000:
        raise Invalid("must be between 1 and 1000", field="limit")
    stmt = select(OutboxEvent).where(OutboxEvent.seq > after)
    if type_:
        stmt = stmt.where(OutboxEvent.type == type_)
    rows = session.scalars(stmt.order_by(OutboxEvent.seq).limit(limit))
    return [_to_event(r) for r in rows]


def position(session: Session, consumer: str) -> int:
    """The consumer's saved cursor (0 before its first ack)."""
    value = session.scalar(
        select(ConsumerCursor.position).where(ConsumerCursor.consumer == consumer)
    )
    return int(value or 0)


def read_batch(session: Session, consumer: str, limit: int = 100) -> list[Event]:
    """The next events for ``consumer``, after its saved cursor."""
    return list_events(session, after=position(session, consumer), limit=limit)


def ack(session: Session, consumer: str, seq: int, at: datetime) -> None:
    """Move ``consumer``'s cursor to ``seq``; never moves it backwards."""
    current = session.get(ConsumerCursor, consumer, with_for_update=True)
    if current is None:
        session.add(ConsumerCursor(consumer=consumer, position=seq, updated_at=at))
    elif seq > current.position:
        session.execute(
            update(ConsumerCursor)
            .where(ConsumerCursor.consumer == consumer)
            .values(position=seq, updated_at=at)
        )
