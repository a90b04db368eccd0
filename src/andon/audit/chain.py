"""The tamper-evident audit chain.

Each entry's ``hash`` is SHA-256 over the canonical JSON (sorted keys, no whitespace, UTF-8) of
its fields: seq, id, ts, actor, action, object_id, reason, change_digest and prev_hash. The
change itself is covered by ``change_digest``, the SHA-256 of its own canonical JSON, which is
also exactly the text stored. ``prev_hash`` is the previous entry's hash, so editing, deleting
or reordering any row breaks the chain at that row.

A single ``audit_head`` row names the last entry. Appends lock it (a row lock on PostgreSQL;
on SQLite the ``BEGIN IMMEDIATE`` write lock every write transaction already holds), which
serialises concurrent writers into one chain; verify compares it with the last row, which
catches a truncated tail.

Both hot paths speak to the driver directly, on the session's own connection and so inside the
caller's transaction. An append is one statement on PostgreSQL (lock head, insert, move head)
and three cheap library calls on SQLite, not a trip through the ORM's unit of work; verify
hashes rows as the driver returns them. ``benchmarks/audit.py`` measures both against plain
inserts of the same rows; see ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy.orm import Session

from andon.core.canonical import canonical_json
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.ids import new_id
from andon.store import outbox
from andon.store.tables import AuditEntry, AuditHead

GENESIS = "0" * 64

_LOG = AuditEntry.__tablename__
_HEAD = AuditHead.__tablename__
_COLUMNS = "seq, id, ts, actor, action, object_id, reason, change, change_digest, prev_hash, hash"


def _text(value: str) -> str:
    # The C encoder json.dumps(..., ensure_ascii=False) itself uses for strings.
    return encode_basestring(value)


def _entry_parts(
    entry_id: str,
    ts: str,
    actor: str,
    action: str,
    object_id: str,
    reason: str,
    change_digest: str,
) -> tuple[str, str, str]:
    """An entry's canonical JSON around the two values the chain head supplies.

    ``before + json(prev_hash) + middle + str(seq) + after`` is ``canonical_json`` of the
    entry's hashed fields: keys in sorted order, ``,``/``:`` separators and ``json.dumps``'s
    own string escaping (a property test checks it byte for byte).
    """
    before = (
        f'{{"action":{_text(action)},"actor":{_text(actor)},'
        f'"change_digest":{_text(change_digest)},"id":{_text(entry_id)},'
        f'"object_id":{_text(object_id)},"prev_hash":'
    )
    return before, f',"reason":{_text(reason)},"seq":', f',"ts":{_text(ts)}}}'


def _entry_json(
    seq: int,
    entry_id: str,
    ts: str,
    actor: str,
    action: str,
    object_id: str,
    reason: str,
    change_digest: str,
    prev_hash: str,
) -> str:
    """``canonical_json`` of an entry's hashed fields."""
    if type(seq) is not int:
        raise TypeError(f"seq must be an int, not {type(seq).__name__}")
    before, middle, after = _entry_parts(
        entry_id, ts, actor, action, object_id, reason, change_digest
    )
    return f"{before}{_text(prev_hash)}{middle}{seq}{after}"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def entry_hash(
    *,
    seq: int,
    id: str,
    ts: datetime,
    actor: str,
    action: str,
    object_id: str,
    reason: str,
    change_digest: str,
    prev_hash: str,
) -> str:
    """The hash of one entry: SHA-256 over the canonical JSON of its fields.

    The record hashed is ``{"action", "actor", "change_digest", "id", "object_id",
    "prev_hash", "reason", "seq", "ts"}`` with ``ts`` as ISO 8601 in UTC.
    """
    return _sha256(
        _entry_json(
            seq,
            id,
            as_utc(ts).isoformat(),
            actor,
            action,
            object_id,
            reason,
            change_digest,
            prev_hash,
        )
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
_READ_LOG = (
    "SELECT seq, id, ts, actor, action, object_id, reason, CAST(change AS TEXT), "
    f"change_digest, prev_hash, hash FROM {_LOG}"
)

# SQLite: read the head (the transaction's BEGIN IMMEDIATE already holds the write lock), hash
# in Python, insert, move the head: three calls into the library, no round trips.
_SQLITE_INSERT = f"INSERT INTO {_LOG} ({_COLUMNS}) VALUES ({', '.join('?' * 11)})"
_SQLITE_MOVE = f"UPDATE {_HEAD} SET seq = ?, hash = ? WHERE id = 1"

# PostgreSQL: one statement, one round trip. It locks the head row, numbers and links the
# entry from it, inserts it and moves the head. The entry's canonical JSON is built in Python
# except for the two values only the locked head knows (prev_hash, seq), which the server
# splices in before taking the SHA-256 of the UTF-8 bytes: the same hash verify recomputes.
# Under READ COMMITTED a writer that waited for the lock reads the head its predecessor left.
_POSTGRES_APPEND = f"""
WITH head AS (
    SELECT seq + 1 AS seq, hash AS prev FROM {_HEAD} WHERE id = 1 FOR NO KEY UPDATE
), entry AS (
    INSERT INTO {_LOG} ({_COLUMNS})
    SELECT head.seq, %(id)s, %(ts)s, %(actor)s, %(action)s, %(object_id)s, %(reason)s,
           %(change)s::json, %(change_digest)s, head.prev,
           encode(sha256(convert_to(
               %(before)s::text || to_json(head.prev)::text || %(middle)s::text
               || head.seq::text || %(after)s::text, 'UTF8')), 'hex')
    FROM head
    RETURNING seq, prev_hash, hash
)
UPDATE {_HEAD} SET seq = entry.seq, hash = entry.hash FROM entry WHERE {_HEAD}.id = 1
RETURNING entry.seq, entry.prev_hash, entry.hash
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
    actor: str,
    action: str,
    object_id: str,
    change: dict[str, Any],
    reason: str,
    at: datetime,
) -> Entry:
    """Append one entry inside the caller's (write) transaction.

    Pending ORM changes are flushed first, so the head lock is taken after every row lock the
    service's own mutation needs, and it is held only until commit.
    """
    session.flush()
    postgres, driver = _driver(session)
    at = as_utc(at)
    ts = at.isoformat()
    change_json = canonical_json(change)
    change_digest = _sha256(change_json)
    entry_id = new_id("audit")
    before, middle, after = _entry_parts(
        entry_id, ts, actor, action, object_id, reason, change_digest
    )
    cur = driver.cursor()
    try:
        if postgres:
            params = {
                "id": entry_id,
                "ts": at,
                "actor": actor,
                "action": action,
                "object_id": object_id,
                "reason": reason,
                "change": change_json,
                "change_digest": change_digest,
                "before": before,
                "middle": middle,
                "after": after,
            }
            cur.execute(_POSTGRES_APPEND, params)
            row = cur.fetchone()
            if row is None:
                raise RuntimeError(f"the {_HEAD} row is missing: run `andon db upgrade`")
            seq, prev, own = row
        else:
            cur.execute(_READ_HEAD)
            head = cur.fetchone()
            if head is None:
                raise RuntimeError(f"the {_HEAD} row is missing: run `andon db upgrade`")
            seq, prev = head[0] + 1, head[1]
            own = _sha256(f"{before}{_text(prev)}{middle}{seq}{after}")
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
    another transaction's locks).
    """
    at = ctx.clock.now()
    entry = append(
        session,
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


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the whole chain.

    ``first_bad_seq`` is the first position where the chain does not hold: the entry whose
    content, hash or link is wrong, or the first missing entry (then ``first_bad_id`` is None).
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_seq": self.first_bad_seq,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
        }


class _Broken(Exception):
    def __init__(self, seq: int, entry_id: str | None, problem: str) -> None:
        super().__init__(problem)
        self.seq, self.entry_id, self.problem = seq, entry_id, problem


def _change_ok(change_text: str, change_digest: str) -> bool:
    # Appends store the canonical JSON itself, so one hash settles it; rows whose JSON was
    # written some other way (re-serialised, older versions) are parsed and canonicalised.
    if _sha256(change_text) == change_digest:
        return True
    return _sha256(canonical_json(json.loads(change_text))) == change_digest


def _iso_utc(ts: datetime | str) -> str:
    if isinstance(ts, str):  # SQLite: naive UTC text
        ts = datetime.fromisoformat(ts)
    return as_utc(ts).isoformat()


class _Walk:
    """The running state of a verification: how far the chain holds."""

    def __init__(self) -> None:
        self.last, self.last_id, self.prev = 0, "", GENESIS

    def check(self, rows: Iterable[Sequence[Any]]) -> None:
        """Check rows in ``seq`` order, continuing from the last good entry.

        The loop is the hot path of verify: it inlines ``_entry_json`` and hands any row that
        does not hold at first sight to :meth:`_diagnose`, which says why (or accepts it).
        """
        sha256, text, utc = hashlib.sha256, encode_basestring, UTC
        last, last_id, prev = self.last, self.last_id, self.prev
        try:
            for row in rows:
                seq, entry_id, ts, actor, action, object_id, reason, change, digest, link, own = row
                try:
                    if type(ts) is str:  # SQLite: naive UTC text
                        ts = datetime.fromisoformat(ts)
                    ts = ts.replace(tzinfo=utc) if ts.tzinfo is None else ts.astimezone(utc)
                    record = (
                        f'{{"action":{text(action)},"actor":{text(actor)},'
                        f'"change_digest":{text(digest)},"id":{text(entry_id)},'
                        f'"object_id":{text(object_id)},"prev_hash":{text(link)},'
                        f'"reason":{text(reason)},"seq":{seq},"ts":"{ts.isoformat()}"}}'
                    )
                    holds = (
                        seq == last + 1
                        and link == prev
                        and sha256(change.encode()).hexdigest() == digest
                        and sha256(record.encode()).hexdigest() == own
                    )
                except Exception:
                    holds = False
                if not holds:
                    self.last, self.last_id, self.prev = last, last_id, prev
                    self._diagnose(row)
                last, last_id, prev = seq, entry_id, own
        finally:
            self.last, self.last_id, self.prev = last, last_id, prev

    def _diagnose(self, row: Sequence[Any]) -> None:
        """Raise :class:`_Broken` saying what is wrong with ``row``, or return if it holds."""
        seq, entry_id = row[0], row[1]
        expected = self.last + 1
        if seq != expected:
            if seq > expected:
                raise _Broken(
                    expected,
                    None,
                    f"entry {expected} is missing: the log goes from entry {self.last} to "
                    f"entry {seq} (entries were deleted or renumbered)",
                )
            raise _Broken(
                seq, entry_id, f"entry {entry_id} is numbered {seq}, before entry {expected}"
            )
        try:
            problem = self._problem(row)
        except (TypeError, ValueError, AttributeError, UnicodeError) as exc:
            problem = f"the entry cannot be read: {type(exc).__name__}: {exc}"
        if problem:
            raise _Broken(seq, entry_id, problem)

    def _problem(self, row: Sequence[Any]) -> str | None:
        seq, entry_id, ts, actor, action, object_id, reason, change, digest, link, own = row
        if link != self.prev:
            return f"prev_hash does not match the hash of entry {self.last}"
        if not _change_ok(change, digest):
            return "the recorded change does not match its digest"
        text = _entry_json(
            seq, entry_id, _iso_utc(ts), actor, action, object_id, reason, digest, link
        )
        if _sha256(text) != own:
            return "the entry's fields do not match its hash"
        return None


def _read_on(driver: Any, postgres: bool, walk: _Walk, batch: int, after: int | None) -> int:
    """Check every row after ``after`` (all rows if None) in order; returns how many were read.

    One ordered query, fetched ``batch`` rows at a time: through a server-side cursor on
    PostgreSQL, a plain cursor that steps lazily on SQLite. (A query per page would let
    PostgreSQL plan each page of a table it has no statistics for yet as a full scan and sort.)
    """
    sql, params = _READ_LOG, []
    if after is not None:
        sql, params = f"{sql} WHERE seq > {'%s' if postgres else '?'}", [after]
    if postgres:
        cur = driver.cursor(name="andon_audit_verify")
        cur.itersize = batch
    else:
        cur = driver.cursor()
    try:
        cur.execute(f"{sql} ORDER BY seq", params)
        read = 0
        while rows := cur.fetchmany(batch):
            walk.check(rows)
            read += len(rows)
        return read
    finally:
        cur.close()


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain from the start and report the first entry that does not hold.

    Entries appended while the walk runs (visible on PostgreSQL, whose statements each see
    what was committed when they started) are read and checked too, rather than mistaken for
    a truncated tail.
    """
    postgres, driver = _driver(session)
    walk = _Walk()
    try:
        _read_on(driver, postgres, walk, batch, None)
        while True:
            cur = driver.cursor()
            try:
                cur.execute(_READ_HEAD)
                head = cur.fetchone()
            finally:
                cur.close()
            if head is None:
                raise _Broken(walk.last + 1, None, f"the {_HEAD} row is missing")
            head_seq, head_hash = head
            if head_seq == walk.last:
                if head_hash != walk.prev:
                    # Every row holds, yet the head remembers another last entry: the last
                    # entry was replaced (or the head edited).
                    raise _Broken(
                        walk.last,
                        walk.last_id,
                        f"entry {walk.last} does not match the hash the chain head recorded for it",
                    )
                return Verification(True, walk.last)
            if head_seq < walk.last:
                raise _Broken(
                    head_seq + 1,
                    None,
                    f"the log runs past the chain head: the head names entry {head_seq} but "
                    f"the log ends at entry {walk.last}",
                )
            # The head is ahead of the rows read: appends committed since, or a lost tail.
            if _read_on(driver, postgres, walk, batch, walk.last) == 0:
                raise _Broken(
                    walk.last + 1,
                    None,
                    f"entry {walk.last + 1} is missing: the chain head names entry {head_seq} "
                    f"but the log ends at entry {walk.last} (entries were deleted from the end)",
                )
    except _Broken as broken:
        checked = min(walk.last, max(broken.seq - 1, 0))
        return Verification(False, checked, broken.seq, broken.entry_id, broken.problem)


__all__ = [
    "GENESIS",
    "Entry",
    "Verification",
    "append",
    "canonical_json",
    "entry_hash",
    "record_change",
    "verify",
]
