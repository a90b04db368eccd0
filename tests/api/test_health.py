"""Liveness and readiness, on a migrated database and on one without andon's schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from andon import __version__
from andon.core.clock import FrozenClock
from andon.core.config import Settings
from andon.core.context import SYSTEM, Context
from andon.store.db import Database
from tests.api.live import Api, assert_problem
from tests.pg import PostgresServer
from tests.server import LOOPBACK_TIMEOUT, free_port, running_server


@pytest.fixture
def empty_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A reachable database on the test's backend that has never been migrated."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database()
    database = Database(url)
    yield database
    database.dispose()


def test_healthz_and_readyz_on_a_migrated_database(api: Api) -> None:
    r = api.anon.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__}
    r = api.anon.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready"}


def test_readyz_is_503_problem_without_a_schema_and_the_api_says_why(
    empty_db: Database, tmp_path: Path, clock: FrozenClock
) -> None:
    settings = Settings(home=tmp_path / "home", database_url=empty_db.url)
    ctx = Context(db=empty_db, settings=settings, principal=SYSTEM, clock=clock)
    with (
        running_server(ctx) as base,
        httpx.Client(base_url=base, timeout=LOOPBACK_TIMEOUT) as client,
    ):
        assert client.get("/healthz").status_code == 200
        doc = assert_problem(client.get("/readyz"), 503)
        assert doc["type"] == "https://andon.dev/problems/schema-mismatch"
        assert "andon init" in doc["hint"]
        # A request that reaches the database gets the same cause, not a bare 500.
        token = {"Authorization": "Bearer andon_" + "a" * 43}
        doc = assert_problem(client.get("/api/v1/teams", headers=token), 503)
        assert "andon init" in doc["hint"]
        # ...and the connection survives it.
        assert client.get("/healthz").status_code == 200


def test_readyz_and_the_api_are_503_when_the_database_is_unreachable(
    tmp_path: Path, clock: FrozenClock
) -> None:
    url = f"postgresql+psycopg://andon@127.0.0.1:{free_port()}/andon"  # nothing listens there
    settings = Settings(home=tmp_path / "home", database_url=url)
    ctx = Context(db=Database(url), settings=settings, principal=SYSTEM, clock=clock)
    with (
        running_server(ctx) as base,
        httpx.Client(base_url=base, timeout=LOOPBACK_TIMEOUT) as client,
    ):
        doc = assert_problem(client.get("/readyz"), 503)
        assert doc["type"] == "https://andon.dev/problems/unavailable"
        assert "cannot reach the database" in doc["detail"]
        token = {"Authorization": "Bearer andon_" + "a" * 43}
        assert_problem(client.get("/api/v1/whoami", headers=token), 503)
