"""Properties: the hash is canonical JSON SHA-256, and one tampering is found exactly where it is."""

from __future__ import annotations

import hmac
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from andon.audit import chain
from andon.audit.keys import AuditKey
from andon.core.canonical import canonical_json, sha256_hex
from andon.store import migrate
from andon.store.db import Database
from tests.audit.chains import execute, swap

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=20)
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
CHANGE = st.dictionaries(TEXT, JSON_VALUE, max_size=4)
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
KEY = AuditKey(b"property-test audit key, 32 bytes+")


@given(
    seq=st.integers(0, 2**63),
    fields=st.lists(TEXT, min_size=7, max_size=7),
    ts=st.datetimes(timezones=st.just(UTC)),
)
def test_entry_hash_is_sha256_of_canonical_json(seq: int, fields: list[str], ts: datetime) -> None:
    entry_id, actor, action, object_id, reason, change_digest, prev_hash = fields
    record = {
        "seq": seq,
        "id": entry_id,
        "ts": ts.isoformat(),
        "actor": actor,
        "action": action,
        "object_id": object_id,
        "reason": reason,
        "change_digest": change_digest,
        "prev_hash": prev_hash,
    }
    assert chain.entry_hash(
        seq=seq,
        id=entry_id,
        ts=ts,
        actor=actor,
        action=action,
        object_id=object_id,
        reason=reason,
        change_digest=change_digest,
        prev_hash=prev_hash,
    ) == sha256_hex(canonical_json(record))


def test_entry_hash_definition_is_pinned() -> None:
    """Changing the definition would orphan every chain already written."""
    assert (
        chain.entry_hash(
            seq=1,
            id="au_01JD3Z0000000000000000000",
            ts=datetime(2026, 11, 23, 8, 0, 0, 250000, tzinfo=UTC),
            actor="admin",
            action="principal.create",
            object_id="pr_01JD3Z0000000000000000001",
            reason="new analyst, «München»",
            change_digest=sha256_hex(canonical_json({"kind": "user", "name": "alice"})),
            prev_hash=chain.GENESIS,
        )
        == "1feb81eb38e678879b52702b843cbee2cb5727b1a55b4d0e21d452a0e1189a78"
    )


@given(
    secret=st.binary(min_size=32, max_size=200),
    message=st.binary(max_size=300),
    fields=st.lists(TEXT, min_size=7, max_size=7),
)
def test_keyed_hash_is_the_standard_hmac_sha256(
    secret: bytes, message: bytes, fields: list[str]
) -> None:
    """The precomputed-pad HMAC is RFC 2104 HMAC-SHA256 (keys longer than a block included)."""
    key = AuditKey(secret)
    assert key.mac_bytes(message) == hmac.new(secret, message, "sha256").hexdigest()
    entry_id, actor, action, object_id, reason, change_digest, prev_hash = fields
    record = {
        "seq": 7,
        "id": entry_id,
        "ts": START.isoformat(),
        "actor": actor,
        "action": action,
        "object_id": object_id,
        "reason": reason,
        "change_digest": change_digest,
        "prev_hash": prev_hash,
    }
    expected = hmac.new(secret, canonical_json(record).encode(), "sha256").hexdigest()
    assert (
        chain.entry_hash(
            seq=7,
            id=entry_id,
            ts=START,
            actor=actor,
            action=action,
            object_id=object_id,
            reason=reason,
            change_digest=change_digest,
            prev_hash=prev_hash,
            key=key,
        )
        == expected
    )


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    """One migrated SQLite file; each example starts from a copy."""
    folder = Path(tempfile.mkdtemp(prefix="andon-audit-prop-"))
    db = Database(f"sqlite:///{folder / 'template.db'}")
    migrate.upgrade(db)
    db.dispose()
    yield folder / "template.db"
    shutil.rmtree(folder, ignore_errors=True)


ENTRY = st.fixed_dictionaries(
    {"actor": NAME, "action": NAME, "object_id": NAME, "reason": TEXT, "change": CHANGE}
)
FIELDS = (
    "actor",
    "action",
    "object_id",
    "reason",
    "id",
    "change",
    "ts",
    "change_digest",
    "prev_hash",
    "hash",
)


def _tamper(db: Database, data: st.DataObject, n: int, rows: list[dict[str, Any]]) -> int:
    """Apply one random tampering; returns the seq verify must report."""
    kind = data.draw(st.sampled_from(["edit", "delete", "truncate", "swap", "renumber"]))
    k = data.draw(st.integers(1, n), label="k")
    if kind == "delete":
        execute(db, "DELETE FROM audit_log WHERE seq = :k", k=k)
    elif kind == "truncate":
        execute(db, "DELETE FROM audit_log WHERE seq >= :k", k=k)
    elif kind == "renumber":
        execute(db, "UPDATE audit_log SET seq = :to WHERE seq = :k", to=n + 1 + k, k=k)
    elif kind == "swap":
        assume(n >= 2)
        j = data.draw(st.integers(1, n).filter(lambda j: j != k), label="j")
        swap(db, min(k, j), max(k, j))
        return min(k, j)
    else:
        field = data.draw(st.sampled_from(FIELDS), label="field")
        old = rows[k - 1][field]
        if field == "change":
            new = data.draw(CHANGE.filter(lambda c: c != old), label="new")
            execute(
                db, "UPDATE audit_log SET change = :v WHERE seq = :k", v=canonical_json(new), k=k
            )
        elif field == "ts":
            delta = data.draw(st.integers(1, 10**12), label="microseconds")
            ts = old + timedelta(microseconds=delta)
            stored = ts.replace(tzinfo=None).isoformat(" ", "microseconds")
            execute(db, "UPDATE audit_log SET ts = :v WHERE seq = :k", v=stored, k=k)
        else:
            new = data.draw(TEXT.filter(lambda v: v != old), label="new")
            execute(db, f"UPDATE audit_log SET {field} = :v WHERE seq = :k", v=new, k=k)
    return k


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.lists(ENTRY, min_size=1, max_size=12), data=st.data())
def test_one_tampering_is_reported_at_the_first_affected_entry(
    template: Path, entries: list[dict[str, Any]], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "andon.db"
        shutil.copy(template, path)
        db = Database(f"sqlite:///{path}")
        try:
            rows = []
            for i, entry in enumerate(entries):
                with db.transaction() as session:
                    written = chain.append(
                        session,
                        key=KEY,
                        at=START + timedelta(seconds=i, microseconds=i * 7),
                        **entry,
                    )
                rows.append({f: getattr(written, f) for f in (*FIELDS, "seq")})
            n = len(entries)
            with db.read() as session:
                assert chain.verify(session, KEY) == chain.Verification(True, n)

            expected = _tamper(db, data, n, rows)
            with db.read() as session:
                result = chain.verify(session, KEY, batch=data.draw(st.sampled_from([2, 5000])))
            assert not result.ok
            assert result.first_bad_seq == expected, result
            assert result.checked == expected - 1
        finally:
            db.dispose()
