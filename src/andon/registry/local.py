"""The context of the local principal, for the Python API (as the CLI builds its own)."""

from __future__ import annotations

from andon.core.context import Context


def local_context() -> Context:
    """Settings from ``ANDON_*``, the migrated metadata database, and ``ANDON_PRINCIPAL``."""
    from andon.auth import service as auth
    from andon.core.config import load_settings
    from andon.store import migrate
    from andon.store.db import Database

    settings = load_settings()
    db = Database.from_settings(settings)
    migrate.require_current(db)
    return auth.context_for(db, settings, settings.principal)
