"""Helpers for the audit tests: build chains through the services, tamper with raw SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from andon.audit import keys
from andon.audit.keys import AuditKey
from andon.auth import service as auth
from andon.core.clock import FrozenClock
from andon.core.config import load_settings
from andon.core.context import Context
from andon.store.db import Database


def grow(admin: Context, clock: FrozenClock, n: int, prefix: str = "user") -> int:
    """Add ``n`` audited changes through a service; returns the chain's length."""
    for i in range(n):
        clock.advance(seconds=1)
        auth.create_principal(admin, f"{prefix}-{i}", reason=f"onboarding {prefix} {i}")
    return length(admin.db)


def execute(db: Database, sql: str, **params: Any) -> None:
    """Raw SQL in its own transaction, straight at the tables: the attacker's view."""
    with db.write_engine.begin() as conn:
        conn.execute(text(sql), params)


def scalar(db: Database, sql: str, **params: Any) -> Any:
    """One value from raw SQL."""
    with db.write_engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def length(db: Database) -> int:
    """How many rows the audit log holds."""
    return int(scalar(db, "SELECT COUNT(*) FROM audit_log"))


def entry_id(db: Database, seq: int) -> str:
    """The id of the entry numbered ``seq``."""
    return str(scalar(db, "SELECT id FROM audit_log WHERE seq = :s", s=seq))


def change_text(db: Database, seq: int) -> str:
    """The change JSON of entry ``seq`` exactly as stored."""
    return str(scalar(db, "SELECT CAST(change AS TEXT) FROM audit_log WHERE seq = :s", s=seq))


def set_change(db: Database, seq: int, value: str) -> None:
    """Overwrite entry ``seq``'s change with the JSON text ``value``."""
    cast = "CAST(:v AS json)" if db.dialect == "postgresql" else ":v"
    execute(db, f"UPDATE audit_log SET change = {cast} WHERE seq = :s", v=value, s=seq)


def shift_ts(db: Database, seq: int) -> None:
    """Move entry ``seq``'s timestamp one second later."""
    if db.dialect == "postgresql":
        execute(db, "UPDATE audit_log SET ts = ts + interval '1 second' WHERE seq = :s", s=seq)
    else:
        # SQLAlchemy's SQLite layout: 'YYYY-MM-DD HH:MM:SS.ffffff', naive UTC.
        execute(
            db,
            "UPDATE audit_log SET ts = strftime('%Y-%m-%d %H:%M:%f', ts, '+1 seconds') || "
            "substr(ts, 24) WHERE seq = :s",
            s=seq,
        )


def swap(db: Database, i: int, j: int) -> None:
    """Exchange the positions of entries ``i`` and ``j``."""
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = :i"), {"i": i})
        conn.execute(text("UPDATE audit_log SET seq = :i WHERE seq = :j"), {"i": i, "j": j})
        conn.execute(text("UPDATE audit_log SET seq = :j WHERE seq = -1"), {"j": j})


def key() -> AuditKey:
    """The audit key of the test's ANDON_HOME (the one its services append with; made if absent)."""
    return keys.load_key(load_settings(), create=True)
