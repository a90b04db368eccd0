"""Editing, deleting or reordering audit rows in the database breaks verify at the first bad entry.

Every case runs on SQLite and PostgreSQL; the tampering is raw SQL on the write engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from andon.audit import chain
from andon.audit import service as audit
from andon.audit.keys import AuditKey
from andon.core.clock import FrozenClock
from andon.core.context import Context
from andon.store.db import Database
from tests.audit.chains import (
    change_text,
    entry_id,
    execute,
    grow,
    key,
    set_change,
    shift_ts,
    swap,
)

MIDDLE = 4


def verify(db: Database) -> chain.Verification:
    with db.read() as session:
        return chain.verify(session, key())


def _first_bad(db: Database) -> int | None:
    """The seq verify names, after checking it found the chain broken."""
    result = verify(db)
    assert not result.ok
    return result.first_bad_seq


@pytest.fixture
def n(admin: Context, clock: FrozenClock) -> int:
    """A chain of a bootstrap entry plus seven service changes."""
    return grow(admin, clock, 7)


def test_intact_chain_verifies_with_its_length(admin: Context, n: int) -> None:
    assert n >= 8  # the bootstrap entry or entries, then seven creations
    result = audit.verify(admin)
    assert result == chain.Verification(ok=True, checked=n)
    assert result.as_dict()["ok"] is True


def test_empty_chain_is_intact(db: Database) -> None:
    assert verify(db) == chain.Verification(ok=True, checked=0)


def _edit(column: str, value: str) -> Callable[[Database, int], None]:
    def edit(db: Database, seq: int) -> None:
        execute(db, f"UPDATE audit_log SET {column} = :v WHERE seq = :s", v=value, s=seq)

    return edit


def _edit_change(db: Database, seq: int) -> None:
    change = json.loads(change_text(db, seq))
    change["kind"] = "service"
    set_change(db, seq, json.dumps(change))


EDITS: dict[str, Callable[[Database, int], None]] = {
    "reason": _edit("reason", "nothing to see here"),
    "actor": _edit("actor", "mallory"),
    "action": _edit("action", "principal.disable"),
    "object_id": _edit("object_id", "pr_someone_else"),
    "id": _edit("id", "au_forged"),
    "change": _edit_change,
    "ts": shift_ts,
    "change_digest": _edit("change_digest", "f" * 64),
    "prev_hash": _edit("prev_hash", "f" * 64),
    "hash": _edit("hash", "f" * 64),
}


@pytest.mark.parametrize("field", list(EDITS))
def test_editing_a_middle_field_is_caught_at_that_entry(db: Database, n: int, field: str) -> None:
    bad_id = entry_id(db, MIDDLE)
    EDITS[field](db, MIDDLE)
    result = verify(db)
    assert not result.ok
    assert result.first_bad_seq == MIDDLE
    assert result.checked == MIDDLE - 1
    if field != "id":
        assert result.first_bad_id == bad_id


@pytest.mark.parametrize("field", ["reason", "change", "hash"])
def test_editing_the_last_entry_is_caught(db: Database, n: int, field: str) -> None:
    EDITS[field](db, n)
    result = verify(db)
    assert (result.ok, result.first_bad_seq) == (False, n)


def test_rewriting_an_entry_with_a_fresh_unkeyed_hash_is_caught_at_that_entry(
    db: Database, n: int
) -> None:
    """An attacker without the key cannot recompute the entry's HMAC: plain SHA-256 fails."""
    execute(db, "UPDATE audit_log SET reason = 'edited' WHERE seq = :s", s=MIDDLE)
    _rehash(db, MIDDLE, None)
    result = verify(db)
    assert (result.ok, result.first_bad_seq) == (False, MIDDLE)
    assert "HMAC" in (result.problem or "")


def test_rewriting_an_entry_with_a_fresh_hash_breaks_the_next_link(db: Database, n: int) -> None:
    """Even one who holds the key and recomputes the edited entry is caught by its successor."""
    execute(db, "UPDATE audit_log SET reason = 'edited' WHERE seq = :s", s=MIDDLE)
    _rehash(db, MIDDLE, key())
    result = verify(db)
    assert (result.ok, result.first_bad_seq) == (False, MIDDLE + 1)
    assert f"hash of entry {MIDDLE}" in (result.problem or "")


def test_replacing_the_last_entry_with_a_fresh_hash_is_caught_by_the_head(
    db: Database, n: int
) -> None:
    execute(db, "UPDATE audit_log SET reason = 'edited' WHERE seq = :s", s=n)
    _rehash(db, n, key())
    result = verify(db)
    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, n, entry_id(db, n))


def test_an_equivalent_change_json_is_not_tampering(db: Database, n: int) -> None:
    """The digest covers the change's content, not its spelling."""
    change = json.loads(change_text(db, MIDDLE))
    set_change(db, MIDDLE, json.dumps(dict(reversed(change.items())), indent=2))
    assert change_text(db, MIDDLE) != json.dumps(change, separators=(",", ":"), sort_keys=True)
    assert verify(db).ok


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL's column types refuse such values
def test_unreadable_values_are_reported_not_raised(db: Database, n: int) -> None:
    execute(db, "UPDATE audit_log SET ts = 'yesterday' WHERE seq = :s", s=MIDDLE)
    result = verify(db)
    assert (result.ok, result.first_bad_seq) == (False, MIDDLE)
    assert "cannot be read" in (result.problem or "")


def test_deleting_a_middle_entry_names_the_missing_one(db: Database, n: int) -> None:
    execute(db, "DELETE FROM audit_log WHERE seq = :s", s=MIDDLE)
    result = verify(db)
    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, MIDDLE, None)
    assert result.checked == MIDDLE - 1
    assert "missing" in (result.problem or "")


def test_deleting_the_first_entry_is_caught(db: Database, n: int) -> None:
    execute(db, "DELETE FROM audit_log WHERE seq = 1")
    assert _first_bad(db) == 1


@pytest.mark.parametrize("drop", [1, 3])
def test_truncating_the_tail_is_caught_by_the_head(db: Database, n: int, drop: int) -> None:
    first_dropped = n - drop + 1
    execute(db, "DELETE FROM audit_log WHERE seq >= :s", s=first_dropped)
    result = verify(db)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, first_dropped, n - drop)
    assert "deleted from the end" in (result.problem or "")


def test_deleting_everything_is_caught(db: Database, n: int) -> None:
    execute(db, "DELETE FROM audit_log")
    assert _first_bad(db) == 1


@pytest.mark.parametrize(("i", "j"), [(MIDDLE, MIDDLE + 1), (2, 6), (1, 8)])
def test_reordering_is_caught_at_the_earlier_position(db: Database, n: int, i: int, j: int) -> None:
    moved = entry_id(db, j)
    swap(db, i, j)
    result = verify(db)
    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, i, moved)


def test_renumbering_an_entry_past_the_end_is_caught_where_it_left(db: Database, n: int) -> None:
    execute(db, "UPDATE audit_log SET seq = 100 WHERE seq = :s", s=MIDDLE)
    assert _first_bad(db) == MIDDLE


def test_renumbering_an_entry_below_one_is_caught(db: Database, n: int) -> None:
    moved = entry_id(db, MIDDLE)
    execute(db, "UPDATE audit_log SET seq = 0 WHERE seq = :s", s=MIDDLE)
    result = verify(db)
    assert (result.ok, result.first_bad_seq, result.first_bad_id) == (False, 0, moved)


def test_a_forged_entry_past_the_head_is_caught(db: Database, n: int) -> None:
    execute(
        db,
        "INSERT INTO audit_log (seq, id, ts, actor, action, object_id, reason, change, "
        "change_digest, prev_hash, hash) SELECT seq + 1, 'au_forged', ts, actor, action, "
        "object_id, reason, change, change_digest, hash, hash FROM audit_log WHERE seq = :s",
        s=n,
    )
    result = verify(db)
    assert (result.ok, result.first_bad_seq) == (False, n + 1)


@pytest.mark.parametrize(
    ("sql", "offset"),
    [
        ("UPDATE audit_head SET hash = 'ffff'", 0),
        ("UPDATE audit_head SET seq = seq - 1", 0),
        ("UPDATE audit_head SET seq = seq + 1", 1),
    ],
)
def test_editing_the_head_is_caught(db: Database, n: int, sql: str, offset: int) -> None:
    execute(db, sql)
    result = verify(db)
    assert (result.ok, result.first_bad_seq) == (False, n + offset)


def test_a_missing_head_is_reported(db: Database, n: int) -> None:
    execute(db, "DELETE FROM audit_head")
    result = verify(db)
    assert (result.ok, result.first_bad_seq) == (False, n + 1)


def test_small_pages_verify_the_same(db: Database, n: int) -> None:
    """Verify reads in pages; page edges change nothing."""
    with db.read() as session:
        assert chain.verify(session, key(), batch=3) == chain.Verification(True, n)
    execute(db, "DELETE FROM audit_log WHERE seq = 6")
    with db.read() as session:
        assert chain.verify(session, key(), batch=3).first_bad_seq == 6
    with db.read() as session:
        assert chain.verify(session, key(), batch=5).first_bad_seq == 6


def _rehash(db: Database, seq: int, with_key: AuditKey | None) -> None:
    """Recompute entry ``seq``'s own hash from its (edited) fields, as a careful attacker would:
    with the audit key if they have it, else the plain SHA-256 anyone can compute."""
    with db.write_engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT seq, id, ts, actor, action, object_id, reason, change_digest, prev_hash "
                "FROM audit_log WHERE seq = :s"
            ),
            {"s": seq},
        ).one()
        ts = row.ts if isinstance(row.ts, datetime) else datetime.fromisoformat(row.ts)
        own = chain.entry_hash(
            seq=row.seq,
            id=row.id,
            ts=ts if ts.tzinfo else ts.replace(tzinfo=UTC),
            actor=row.actor,
            action=row.action,
            object_id=row.object_id,
            reason=row.reason,
            change_digest=row.change_digest,
            prev_hash=row.prev_hash,
            key=with_key,
        )
        conn.execute(text("UPDATE audit_log SET hash = :h WHERE seq = :s"), {"h": own, "s": seq})
