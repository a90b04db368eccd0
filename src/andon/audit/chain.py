"""The tamper-evident audit chain: appending entries.

Each entry's ``hash`` is HMAC-SHA256, under the audit key (:mod:`andon.audit.keys`, kept
outside the database), over the canonical JSON of its fields (:mod:`andon.audit.records`):
seq, id, ts, actor, action, object_id, reason, change_digest and prev_hash. The change itself
is covered by ``change_digest``, the SHA-256 of its own canonical JSON, which is also exactly
the text stored. ``prev_hash`` is the previous entry's hash, so editing, deleting or reordering
any row breaks the chain at that row, and without the key nobody can recompute the hashes
after an edit. Each entry records the id of the key that hashed it (``key_id``).

A single ``audit_head`` row names the last entry. Appends lock it (a row lock on PostgreSQL;
on SQLite the ``BEGIN IMMEDIATE`` write lock every write transaction already holds), which
serialises concurrent writers into one chain; verify (:mod:`andon.audit.verification`)
compares it with the last row, and anchors (:mod:`andon.audit.anchors`) copy it, signed, to a
place the database cannot reach, which catches a tail cut with the head moved to match.

Appends speak to the driver directly, on the session's own connection and so inside the
caller's transaction: three cheap library calls on SQLite; on PostgreSQL two statements (lock
and read the head; insert the entry and move the head), since the HMAC is taken in Python so
the key never reaches the database server (its statement log included).
``benchmarks/audit.py`` measures appends against plain inserts of the same rows; see
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from andon.audit import keys
from andon.audit.keys import AuditKey
from andon.audit.records import GENESIS, entry_hash, entry_parts, sha256_text, text
from andon.audit.verification import Verification, verify
from andon.core.canonical import canonical_json
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.ids import new_id
from andon.store import outbox
from andon.store.tables.audit import AuditEntry, AuditHead

_LOG = AuditEntry.__tablename__
_HEAD = AuditHead.__tablename__
_COLUMNS = (
    "seq, id, ts, actor, action, object_id, reason, change, change_digest, prev_hash, hash, key_id"
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One appended audit entry, as written."""

    seq: int
    id: str
    ts: datetime
    actor: str
    action: str
    object_id: str
    reason: str
    change: dict[str, Any]
    change_digest: str
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seq": self.seq,
            "id": self.id,
            "ts": self.ts.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "object_id": self.object_id,
            "reason": self.reason,
            "change": self.change,
            "change_digest": self.change_digest,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


_READ_HEAD = f"SELECT seq, hash FROM {_HEAD} WHERE id = 1"
_MISSING_HEAD = f"the {_HEAD} row is missing: run `andon db upgrade`"

# SQLite: read the head (the transaction's BEGIN IMMEDIATE already holds the write lock), hash
# in Python, insert, move the head: three calls into the library, no round trips.
_SQLITE_INSERT = f"INSERT INTO {_LOG} ({_COLUMNS}) VALUES ({', '.join('?' * 12)})"
_SQLITE_MOVE = f"UPDATE {_HEAD} SET seq = ?, hash = ? WHERE id = 1"

# PostgreSQL: lock the head row and read it, then one statement inserts the entry and moves
# the head. Under READ COMMITTED a writer that waited for the lock reads the head its
# predecessor left.
_POSTGRES_LOCK = f"{_READ_HEAD} FOR NO KEY UPDATE"
_POSTGRES_APPEND = f"""
WITH entry AS (
    INSERT INTO {_LOG} ({_COLUMNS})
    VALUES (%(seq)s, %(id)s, %(ts)s, %(actor)s, %(action)s, %(object_id)s, %(reason)s,
            %(change)s::json, %(change_digest)s, %(prev)s, %(hash)s, %(key_id)s)
)
UPDATE {_HEAD} SET seq = %(seq)s, hash = %(hash)s WHERE id = 1
"""


def _driver(session: Session) -> tuple[bool, Any]:
    """Whether the session is on PostgreSQL, and its DB-API connection (in its transaction)."""
    conn = session.connection()
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):  # pragma: no cover - Database refuses others
        raise NotImplementedError(f"the audit chain does not support {name}")
    return name == "postgresql", conn.connection.driver_connection


def append(
    session: Session,
    *,
    key: AuditKey,
    actor: str,
    action: str,
    object_id: str,
    change: dict[str, Any],
    reason: str,
    at: datetime,
) -> Entry:
    """Append one entry, hashed with ``key``, inside the caller's (write) transaction.

    Pending ORM changes are flushed first, so the head lock is taken after every row lock the
    service's own mutation needs, and it is held only until commit.
    """
    session.flush()
    postgres, driver = _driver(session)
    at = as_utc(at)
    ts = at.isoformat()
    change_json = canonical_json(change)
    change_digest = sha256_text(change_json)
    entry_id = new_id("audit")
    before, middle, after = entry_parts(
        entry_id, ts, actor, action, object_id, reason, change_digest
    )
    cur = driver.cursor()
    try:
        cur.execute(_POSTGRES_LOCK if postgres else _READ_HEAD)
        head = cur.fetchone()
        if head is None:
            raise RuntimeError(_MISSING_HEAD)
        seq, prev = head[0] + 1, head[1]
        own = key.mac(f"{before}{text(prev)}{middle}{seq}{after}")
        if postgres:
            params = {
                "seq": seq,
                "id": entry_id,
                "ts": at,
                "actor": actor,
                "action": action,
                "object_id": object_id,
                "reason": reason,
                "change": change_json,
                "change_digest": change_digest,
                "prev": prev,
                "hash": own,
                "key_id": key.id,
            }
            cur.execute(_POSTGRES_APPEND, params)
        else:
            # SQLAlchemy's SQLite layout for DateTime: naive UTC text with microseconds.
            stored_ts = at.replace(tzinfo=None).isoformat(" ", "microseconds")
            cur.execute(
                _SQLITE_INSERT,
                (
                    seq,
                    entry_id,
                    stored_ts,
                    actor,
                    action,
                    object_id,
                    reason,
                    change_json,
                    change_digest,
                    prev,
                    own,
                    key.id,
                ),
            )
            cur.execute(_SQLITE_MOVE, (seq, own))
    finally:
        cur.close()
    return Entry(
        seq, entry_id, at, actor, action, object_id, reason, change, change_digest, prev, own
    )


def record_change(
    session: Session,
    ctx: Context,
    *,
    action: str,
    object_id: str,
    change: dict[str, Any],
    reason: str = "",
    event: str | None = None,
) -> Entry:
    """Audit a state change and, if ``event`` names a type, write it to the outbox.

    Call inside the service's transaction, after the permission check and the mutation (the
    chain head stays locked from here to commit, so make no further changes that could wait on
    another transaction's locks). The entry is hashed with the configured audit key, which is
    created in ``ANDON_HOME`` if none is configured yet.
    """
    at = ctx.clock.now()
    entry = append(
        session,
        key=keys.load_key(ctx.settings, create=True),
        actor=ctx.principal.name,
        action=action,
        object_id=object_id,
        change=change,
        reason=reason,
        at=at,
    )
    if event:
        # The event carries the change as the log recorded it: plain JSON (datetimes as ISO
        # text, sets as sorted lists), which the outbox's JSON column can store.
        plain = json.loads(canonical_json(change))
        payload = {"actor": ctx.principal.name, "audit_id": entry.id, **plain}
        outbox.emit(session, event, object_id, payload, at)
    return entry


__all__ = [
    "GENESIS",
    "AuditKey",
    "Entry",
    "Verification",
    "append",
    "canonical_json",
    "entry_hash",
    "record_change",
    "verify",
]
