"""Schema migrations: apply, report, and refuse to run on a schema this andon does not know."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from andon.core.errors import SchemaMismatch
from andon.store.db import Database

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision this andon ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(db: Database) -> str | None:
    """The revision the database is at, or ``None`` before the first upgrade."""
    from alembic.runtime.migration import MigrationContext

    with db._guard(), db.write_engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class SchemaState:
    """Where the database stands against this andon's migrations."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        """Whether the database is at this andon's head revision."""
        return self.current == self.head


def state(db: Database) -> SchemaState:
    """The current and head revisions; raises if the database is ahead of this andon."""
    current = current_revision(db)
    if current is not None and current not in _known_revisions():
        raise SchemaMismatch(
            f"the database is at schema revision {current}, which this andon does not know "
            f"(its newest is {head_revision()}): it was migrated by a newer andon; "
            "upgrade andon instead of the database"
        )
    return SchemaState(current, head_revision())


def upgrade(db: Database) -> SchemaState:
    """Apply every pending migration in one transaction."""
    from alembic import command

    before = state(db)
    if before.up_to_date:
        return before
    with db._guard(), db.write_engine.begin() as conn:
        command.upgrade(_config(conn), "head")
    return state(db)


def require_current(db: Database) -> None:
    """Raise :class:`SchemaMismatch` with the fix unless the schema is at head."""
    now = state(db)
    if now.current is None:
        raise SchemaMismatch("the database has no andon schema yet", hint="run `andon init`")
    if not now.up_to_date:
        raise SchemaMismatch(
            f"the database schema is at {now.current}, this andon needs {now.head}",
            hint="run `andon db upgrade`",
        )
