"""Migrations apply on SQLite and PostgreSQL, and a foreign schema is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from andon.core.errors import SchemaMismatch, Unavailable
from andon.store import migrate
from andon.store.db import Database, redact_url
from andon.store.schema import metadata


def test_upgrade_creates_every_table_and_is_idempotent(db_url: str) -> None:
    db = Database(db_url)
    assert migrate.state(db).current is None
    with pytest.raises(SchemaMismatch, match="no andon schema") as raised:
        migrate.require_current(db)
    assert "andon init" in raised.value.details["hint"]
    state = migrate.upgrade(db)
    assert state.up_to_date and state.current == migrate.head_revision()
    assert migrate.upgrade(db) == state
    tables = set(inspect(db.write_engine).get_table_names())
    assert set(metadata.tables) <= tables
    with db.read() as session:
        head = session.execute(text("SELECT seq, hash FROM audit_head")).one()
    assert head == (0, "0" * 64)
    migrate.require_current(db)
    db.dispose()


def test_migrations_match_the_models(db_url: str) -> None:
    """Autogenerate against a migrated database finds nothing: models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(db_url)
    migrate.upgrade(db)
    with db.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    db.dispose()


def test_schema_from_a_newer_andon_is_refused(db_url: str) -> None:
    db = Database(db_url)
    migrate.upgrade(db)
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaMismatch, match=r"9999_future.*newer andon"):
        migrate.upgrade(db)
    with pytest.raises(SchemaMismatch):
        migrate.require_current(db)
    with db.read() as session:  # nothing was changed by the refused upgrade
        assert session.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "9999_future"
        )
    db.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/wal.db")
    with db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


def test_unreachable_postgres_is_one_clear_line_without_the_password() -> None:
    from tests.server import free_port

    url = f"postgresql+psycopg://andon:s3cret@127.0.0.1:{free_port()}/andon"
    db = Database(url)
    with pytest.raises(Unavailable) as info:
        migrate.state(db)
    message = str(info.value)
    assert "cannot reach the database" in message
    assert "s3cret" not in message and "***" in message
    assert "\n" not in message
    assert "s3cret" not in redact_url(url)


def test_unopenable_sqlite_file_is_unavailable(tmp_path: object) -> None:
    blocker = f"{tmp_path}/file"
    with open(blocker, "w") as fh:
        fh.write("x")
    with pytest.raises(Unavailable, match="cannot create"):
        Database(f"sqlite:///{blocker}/nested/andon.db")


def test_reading_an_unmigrated_database_says_how_to_fix_it(db_url: str) -> None:
    from sqlalchemy import select

    from andon.store.tables.auth import Team

    db = Database(db_url)
    with pytest.raises(SchemaMismatch, match="lacks andon's tables") as raised, db.read() as s:
        s.execute(select(Team)).all()
    assert "andon db upgrade" in raised.value.details["hint"]
    db.dispose()


def test_out_of_range_values_are_invalid_not_a_crash(db_url: str) -> None:
    from andon.core.errors import Invalid

    db = Database(db_url)
    migrate.upgrade(db)
    if db.dialect == "sqlite":  # SQLite stores any integer; PostgreSQL's BIGINT overflows
        pytest.skip("SQLite has no fixed-width integers")
    with pytest.raises(Invalid, match="refused a value"), db.read() as session:
        session.execute(text("SELECT CAST(:n AS BIGINT)"), {"n": str(2**70)}).all()
    db.dispose()


def test_the_shipped_head_read_from_the_files_is_alembics() -> None:
    assert migrate.shipped_head() == migrate.head_revision()


def test_a_current_database_is_checked_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    migrate.upgrade(Database(url))
    code = (
        "import sys; from andon.store.db import Database; from andon.store import migrate; "
        f"migrate.require_current(Database({url!r})); "
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_database_behind_or_ahead_is_still_refused(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'andon.db'}")
    migrate.upgrade(db)
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0012'"))
    with pytest.raises(SchemaMismatch, match="this andon needs") as raised:
        migrate.require_current(db)
    assert "andon db upgrade" in raised.value.details["hint"]
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaMismatch, match="does not know"):
        migrate.require_current(db)
