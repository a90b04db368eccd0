"""The metadata database: engines, transactions and schema checks.

SQLite (the default) runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` so
concurrent writers queue on the lock instead of failing on upgrade. PostgreSQL works the same
through ``postgresql+psycopg://``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from andon.core.config import Settings
from andon.core.errors import Invalid, SchemaMismatch, Unavailable

_NO_TABLES = "the database lacks andon's tables"
_NO_TABLES_HINT = "run `andon db upgrade` (`andon init` on a new database)"


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database url>"


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"isolation_level": None, "timeout": 60, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if immediate:  # may wait for the lock: errors go through SQLAlchemy's handling
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:  # a deferred BEGIN takes no lock; on the driver, it costs 2 µs instead of 20
            conn.connection.dbapi_connection.execute("BEGIN")

    return engine


class Database:
    """Engines and session factories for one metadata database."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except Exception:
            raise Invalid("is not a valid SQLAlchemy URL", field="ANDON_DATABASE_URL") from None
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise Unavailable(
                        f"cannot create {folder} for the SQLite database: {exc.strerror}"
                    ) from None
            self.write_engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
        elif self.dialect == "postgresql":
            self.write_engine = create_engine(
                url, pool_pre_ping=True, connect_args={"connect_timeout": 5}
            )
            self.read_engine = self.write_engine
        else:
            raise Invalid(
                f"unsupported database '{self.dialect}'; use sqlite or postgresql",
                field="ANDON_DATABASE_URL",
            )
        self._writer = sessionmaker(self.write_engine, expire_on_commit=False)
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database named by ``settings`` (SQLite in ``ANDON_HOME`` by default).

        Opening the store of a home also sweeps its artifact folder of the temporary files of
        writers that were killed (:meth:`ArtifactStore.sweep`), so they go at the next start.
        """
        from andon.store.artifacts import ArtifactStore

        ArtifactStore(settings.artifact_dir).sweep()
        return cls(settings.resolved_database_url)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: commit on success, roll back on any exception."""
        with self._guard(), self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads."""
        with self._guard(), self._reader() as session:
            yield session

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            if _is_connect_failure(exc):
                raise Unavailable(
                    f"cannot reach the database at {redact_url(self.url)}: {_first_line(exc)}"
                ) from None
            if _is_missing_table(exc):
                raise SchemaMismatch(_NO_TABLES, hint=_NO_TABLES_HINT) from None
            raise
        except ProgrammingError as exc:
            if _is_missing_table(exc):
                raise SchemaMismatch(_NO_TABLES, hint=_NO_TABLES_HINT) from None
            raise
        except DataError as exc:
            # Values the database cannot store (NUL in text, integers out of range): the
            # caller's input, not a server fault.
            raise Invalid(f"the database refused a value: {_first_line(exc)}") from None

    def ping(self) -> None:
        """Raise :class:`Unavailable` unless a trivial query succeeds."""
        from sqlalchemy import text

        with self.read() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def _is_connect_failure(exc: DBAPIError) -> bool:
    return (
        exc.connection_invalidated
        or "connect" in str(exc.orig).lower()
        or ("unable to open database" in str(exc.orig))
    )


def _is_missing_table(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__
