"""Inserts that several processes may race to make: the first wins, the others do nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, model: Any, values: dict[str, Any]) -> None:
    """Insert one row of ``model`` unless a row with its key exists (``ON CONFLICT DO
    NOTHING`` on PostgreSQL and SQLite), so concurrent writers never fail on the key."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(model).values(values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(model).values(values).on_conflict_do_nothing())
