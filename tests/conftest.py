"""Shared fixtures: real SQLite and a real PostgreSQL server, migrated, with an admin."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from andon.auth import service as auth
from andon.core.clock import FrozenClock
from andon.core.config import Settings
from andon.core.context import Context
from andon.store import migrate
from andon.store.db import Database
from tests.pg import PostgresServer, missing_reason


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's ANDON_* variables or writes outside its tmp dir."""
    for key in list(os.environ):
        if key.startswith("ANDON_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ANDON_HOME", str(tmp_path / "andon-home"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (skips with the reason if impossible)."""
    reason = missing_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(reason)
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


def _database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'andon.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Each service test runs on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """URL of an empty database on the test's backend."""
    return _database_url(backend, tmp_path, request)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at the test database."""
    return Settings(home=tmp_path / "andon-home", database_url=db_url)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock tests can move."""
    return FrozenClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """A migrated, empty database."""
    database = Database.from_settings(settings)
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def admin(db: Database, settings: Settings, clock: FrozenClock) -> Context:
    """The bootstrap platform-admin's context."""
    auth.bootstrap(db, settings, "admin", clock=clock)
    return auth.context_for(db, settings, "admin", clock=clock)


def as_principal(admin: Context, name: str) -> Context:
    """The context of another principal on the same database and clock."""
    return auth.context_for(admin.db, admin.settings, name, clock=admin.clock)
