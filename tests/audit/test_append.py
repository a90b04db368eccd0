"""Appends: what is written, and that PostgreSQL's server-side hash is the Python one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from andon.audit import chain
from andon.audit import service as audit
from andon.core.canonical import digest
from andon.core.clock import FrozenClock
from andon.core.context import Context
from andon.events import service as events
from andon.store.db import Database
from tests.audit.chains import change_text, key

TRICKY = [
    'quote " and backslash \\ and slash /',
    "newline\nand tab\tand bell\x07 and delete \x7f",
    "ünïcödé «München» 東京 😀 \u2028 \u00a0",
    "",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_text_hashes_the_same_on_the_server_and_in_python(db: Database, text: str) -> None:
    at = datetime(2026, 11, 23, 8, 0, 0, 123456, tzinfo=UTC)
    change = {"b": [1, 2.5, None, True], "a": {"z": text, text: "x"}}
    written = []
    for i in range(3):
        with db.transaction() as session:
            written.append(
                chain.append(
                    session,
                    key=key(),
                    actor=f"{text}-actor",
                    action=text,
                    object_id=f"ob_{i}{text}"[:80],
                    change=change,
                    reason=text,
                    at=at,
                )
            )
    prev = chain.GENESIS
    for seq, entry in enumerate(written, start=1):
        assert (entry.seq, entry.prev_hash) == (seq, prev)
        assert entry.change_digest == digest(change)
        assert entry.hash == chain.entry_hash(
            seq=entry.seq,
            id=entry.id,
            ts=at,
            actor=entry.actor,
            action=entry.action,
            object_id=entry.object_id,
            reason=entry.reason,
            change_digest=entry.change_digest,
            prev_hash=prev,
            key=key(),
        )
        prev = entry.hash
    with db.read() as session:
        assert chain.verify(session, key()) == chain.Verification(True, 3)


def test_entries_read_back_as_written(admin: Context, clock: FrozenClock) -> None:
    clock.advance(microseconds=250)
    with admin.db.transaction() as session:
        entry = chain.record_change(
            session,
            admin,
            action="thing.change",
            object_id="th_1",
            change={"when": datetime(2026, 1, 2, tzinfo=UTC), "tags": {"b", "a"}},
            reason="why not",
            event="thing.changed",
        )
    # The stored change is its canonical JSON, which is what the digest covers.
    assert change_text(admin.db, entry.seq) == (
        '{"tags":["a","b"],"when":"2026-01-02T00:00:00+00:00"}'
    )
    [record] = audit.list_entries(admin, object_id="th_1")
    assert record.seq == entry.seq
    assert record.id == entry.id
    assert record.ts == clock.now() == entry.ts
    assert record.change == {"tags": ["a", "b"], "when": "2026-01-02T00:00:00+00:00"}
    assert (record.prev_hash, record.hash) == (entry.prev_hash, entry.hash)
    assert audit.verify(admin).ok
    [event] = events.list_events(admin, type_="thing.changed")
    assert event.payload == {"actor": "admin", "audit_id": entry.id, **record.change}
