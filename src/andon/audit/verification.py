"""Walking the audit chain: the first entry that does not hold, and why.

Entries from the head's ``keyed_from`` on must carry the configured key's id and its HMAC;
earlier ones (written before andon keyed the chain) must carry no key id and their plain
SHA-256. A rewrite without the key therefore breaks at the first edited row, even when every
later hash was recomputed. What the database alone cannot show (a tail cut with the head moved
to match, everything deleted and the head reset, the switch point moved) the anchors show:
see :mod:`andon.audit.anchors`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy.orm import Session

from andon.audit.keys import AuditKey
from andon.audit.records import GENESIS, entry_json, sha256_text
from andon.core.canonical import canonical_json
from andon.core.clock import as_utc
from andon.core.records import published
from andon.store.tables.audit import AuditEntry, AuditHead

_LOG = AuditEntry.__tablename__
_HEAD = AuditHead.__tablename__
_READ_HEAD = f"SELECT seq, hash FROM {_HEAD} WHERE id = 1"
_READ_SWITCH = f"SELECT keyed_from FROM {_HEAD} WHERE id = 1"
_READ_LOG = (
    "SELECT seq, id, ts, actor, action, object_id, reason, CAST(change AS TEXT), "
    f"change_digest, prev_hash, hash, key_id FROM {_LOG}"
)


@published
@dataclass(frozen=True)
class Verification:
    """The outcome of checking the whole chain (and, if given, its anchors).

    ``first_bad_seq`` is the first position where the chain does not hold: the entry whose
    content, hash or link is wrong, or the first missing entry (then ``first_bad_id`` is None).
    ``legacy`` counts the entries accepted under the unkeyed scheme (those before the switch
    point; 0 on a database created with a key). ``anchors`` counts the anchors checked and
    ``bad_anchor`` is the line of the anchor file that is itself wrong (forged, or signed with
    another key), if any.
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    problem: str | None = None
    legacy: int = 0
    anchors: int = 0
    bad_anchor: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_seq": self.first_bad_seq,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "legacy": self.legacy,
            "anchors": self.anchors,
            "bad_anchor": self.bad_anchor,
        }


class _Broken(Exception):
    def __init__(self, seq: int, entry_id: str | None, problem: str) -> None:
        super().__init__(problem)
        self.seq, self.entry_id, self.problem = seq, entry_id, problem


def _change_ok(change_text: str, change_digest: str) -> bool:
    # Appends store the canonical JSON itself, so one hash settles it; rows whose JSON was
    # written some other way (re-serialised, older versions) are parsed and canonicalised.
    if sha256_text(change_text) == change_digest:
        return True
    return sha256_text(canonical_json(json.loads(change_text))) == change_digest


def _iso_utc(ts: datetime | str) -> str:
    if isinstance(ts, str):  # SQLite: naive UTC text
        ts = datetime.fromisoformat(ts)
    return as_utc(ts).isoformat()


class _Walk:
    """The running state of a verification: how far the chain holds."""

    def __init__(self, key: AuditKey, keyed_from: int) -> None:
        self.key, self.keyed_from = key, keyed_from
        self.last, self.last_id, self.prev = 0, "", GENESIS

    def check(self, rows: Iterable[Sequence[Any]]) -> None:
        """Check rows in ``seq`` order, continuing from the last good entry.

        The loop is the hot path of verify: it inlines ``entry_json`` and hands any row that
        does not hold at first sight to :meth:`_diagnose`, which says why (or accepts it).
        """
        sha256, text, utc = hashlib.sha256, encode_basestring, UTC
        mac, key_id, keyed_from = self.key.mac_bytes, self.key.id, self.keyed_from
        last, last_id, prev = self.last, self.last_id, self.prev
        try:
            for row in rows:
                (seq, entry_id, ts, actor, action, object_id, reason, change, digest, link, own,
                 kid) = row  # fmt: skip
                try:
                    if type(ts) is str:  # SQLite: naive UTC text
                        ts = datetime.fromisoformat(ts)
                    ts = ts.replace(tzinfo=utc) if ts.tzinfo is None else ts.astimezone(utc)
                    record = (
                        f'{{"action":{text(action)},"actor":{text(actor)},'
                        f'"change_digest":{text(digest)},"id":{text(entry_id)},'
                        f'"object_id":{text(object_id)},"prev_hash":{text(link)},'
                        f'"reason":{text(reason)},"seq":{seq},"ts":"{ts.isoformat()}"}}'
                    ).encode()
                    if seq >= keyed_from:
                        signed = kid == key_id and mac(record) == own
                    else:
                        signed = kid is None and sha256(record).hexdigest() == own
                    holds = (
                        signed
                        and seq == last + 1
                        and link == prev
                        and sha256(change.encode()).hexdigest() == digest
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
        seq, entry_id, ts, actor, action, object_id, reason, change, digest, link, own, kid = row
        if link != self.prev:
            return f"prev_hash does not match the hash of entry {self.last}"
        if not _change_ok(change, digest):
            return "the recorded change does not match its digest"
        record = entry_json(
            seq, entry_id, _iso_utc(ts), actor, action, object_id, reason, digest, link
        )
        if seq >= self.keyed_from:
            if kid is None:
                return (
                    f"the entry carries no key id, yet every entry from {self.keyed_from} on "
                    "is hashed with the audit key (rewritten with the unkeyed hash?)"
                )
            if kid != self.key.id:
                return (
                    f"the entry was hashed with another audit key (key id {kid}; the "
                    f"configured key's id is {self.key.id}): the wrong key, or a forged row"
                )
            if not self.key.matches(record, own):
                return "the entry's fields do not match its hash (HMAC under the audit key)"
            return None
        if kid is not None:
            return (
                f"the entry carries key id {kid} but lies before the switch to keyed hashes "
                f"at entry {self.keyed_from} (was the switch point moved?)"
            )
        if sha256_text(record) != own:
            return "the entry's fields do not match its hash (legacy, unkeyed)"
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


def _one(driver: Any, sql: str) -> Any:
    cur = driver.cursor()
    try:
        cur.execute(sql)
        return cur.fetchone()
    finally:
        cur.close()


def _driver(session: Session) -> tuple[bool, Any]:
    conn = session.connection()
    return conn.dialect.name == "postgresql", conn.connection.driver_connection


def keyed_from(session: Session) -> int | None:
    """The first seq hashed with the audit key (None if the head row is missing)."""
    row = _one(_driver(session)[1], _READ_SWITCH)
    return None if row is None else int(row[0])


def verify(session: Session, key: AuditKey, batch: int = 5000) -> Verification:
    """Walk the chain from the start and report the first entry that does not hold.

    Entries appended while the walk runs (visible on PostgreSQL, whose statements each see
    what was committed when they started) are read and checked too, rather than mistaken for
    a truncated tail.
    """
    postgres, driver = _driver(session)
    switch = keyed_from(session)
    walk = _Walk(key, 1 if switch is None else switch)
    try:
        _read_on(driver, postgres, walk, batch, None)
        while True:
            head = _one(driver, _READ_HEAD)
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
                return Verification(True, walk.last, legacy=min(walk.keyed_from - 1, walk.last))
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
        return Verification(
            False,
            checked,
            broken.seq,
            broken.entry_id,
            broken.problem,
            legacy=min(walk.keyed_from - 1, checked),
        )


def failed(result: Verification, seq: int | None, problem: str, **more: Any) -> Verification:
    """``result`` turned into a failure at ``seq`` (for checks made after the walk)."""
    checked = result.checked if seq is None else min(result.checked, max(seq - 1, 0))
    return replace(
        result,
        ok=False,
        checked=checked,
        first_bad_seq=seq,
        first_bad_id=None,
        problem=problem,
        **more,
    )


__all__ = ["Verification", "failed", "keyed_from", "verify"]
