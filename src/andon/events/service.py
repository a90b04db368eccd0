"""Outbox consumers: read events by cursor, acknowledge after handling (at-least-once).

A consumer loop looks like::

    while batch := events.read_batch(ctx, "lineage-export"):
        for event in batch:
            handle(event)          # idempotent: keyed by event.id
        events.ack(ctx, "lineage-export", batch[-1].seq)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from andon.core.context import Context
from andon.core.errors import Invalid
from andon.store import outbox
from andon.store.outbox import Event

_CONSUMER = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def _check_consumer(name: str) -> None:
    if not _CONSUMER.match(name):
        raise Invalid(f"'{name}' must use only a-z 0-9 . _ -", field="consumer")


def list_events(
    ctx: Context, *, after: int = 0, limit: int = 100, type_: str | None = None
) -> list[Event]:
    """Events after ``after`` (exclusive), in order."""
    with ctx.db.read() as session:
        ctx.require("events.read")
        return outbox.list_events(session, after=after, limit=limit, type_=type_)


def read_batch(ctx: Context, consumer: str, *, limit: int = 100) -> list[Event]:
    """The next events after ``consumer``'s cursor; the cursor moves only on :func:`ack`."""
    _check_consumer(consumer)
    ctx.require("events.read")
    return _next_batch(ctx, consumer, limit)


def ack(ctx: Context, consumer: str, seq: int) -> int:
    """Record that ``consumer`` handled every event up to ``seq``; returns the cursor.

    Needs ``events.consume``: moving a cursor makes that consumer skip events.
    """
    _check_consumer(consumer)
    if seq < 0:
        raise Invalid("must be zero or more", field="seq")
    ctx.require("events.consume")
    return _ack(ctx, consumer, seq)


def cursor(ctx: Context, consumer: str) -> int:
    """``consumer``'s saved position."""
    _check_consumer(consumer)
    with ctx.db.read() as session:
        ctx.require("events.read")
        return outbox.position(session, consumer)


def drain(
    ctx: Context, consumer: str, handler: Callable[[Event], None], *, batch_size: int = 100
) -> int:
    """Hand every pending event to ``handler`` in order, acknowledging after each batch.

    If ``handler`` raises, the batch is not acknowledged and the error propagates: the next
    drain redelivers it. Returns how many events were handled. Needs ``events.consume``.
    """
    _check_consumer(consumer)
    ctx.require("events.consume")
    handled = 0
    while batch := _next_batch(ctx, consumer, batch_size):
        for event in batch:
            handler(event)
            handled += 1
        _ack(ctx, consumer, batch[-1].seq)
    return handled


def _next_batch(ctx: Context, consumer: str, limit: int) -> list[Event]:
    with ctx.db.read() as session:
        return outbox.read_batch(session, consumer, limit)


def _ack(ctx: Context, consumer: str, seq: int) -> int:
    with ctx.db.transaction() as session:
        outbox.ack(session, consumer, seq, ctx.clock.now())
        return outbox.position(session, consumer)
