"""Schema migrations: apply, report, and refuse to run on a schema this andon does not know."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from andon.core.errors import SchemaMismatch
from andon.store.db import Database

_SCRIPTS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*(?:"([^"]+)"|None)', re.M)


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


@cache
def shipped_head() -> str | None:
    """The head revision read from the migration files' ``revision``/``down_revision`` lines,
    without importing Alembic or the scripts; ``None`` unless they form one chain."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (_SCRIPTS / "versions").glob("[0-9]*.py"):
        found = dict((m.group(1), m.group(2)) for m in _REVISION.finditer(script.read_text()))
        if not found.get("revision"):
            return None
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_shipped_head(db: Database) -> bool:
    """Whether the database's one recorded revision is the shipped head (one cheap query)."""
    head = shipped_head()
    if head is None:
        return False
    try:
        with db._guard(), db.write_engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except (SQLAlchemyError, SchemaMismatch):  # no table yet, or any doubt: ask Alembic
        return False
    return [row[0] for row in rows] == [head]


def require_current(db: Database) -> None:
    """Raise :class:`SchemaMismatch` with the fix unless the schema is at head.

    Every command asks this first, so the usual answer (at head) costs one query; Alembic,
    which loads every migration script, is consulted only when the answer is not that.
    """
    if _at_shipped_head(db):
        return
    now = state(db)
    if now.current is None:
        raise SchemaMismatch("the database has no andon schema yet", hint="run `andon init`")
    if not now.up_to_date:
        raise SchemaMismatch(
            f"the database schema is at {now.current}, this andon needs {now.head}",
            hint="run `andon db upgrade`",
        )
