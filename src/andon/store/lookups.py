"""Lookups every domain's services share, inside the caller's session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.errors import NotFound
from andon.store.tables import Team


def team_by_name(session: Session, name: str) -> Team:
    """The team called ``name``, or :class:`NotFound` naming the field ``team``."""
    row = session.scalar(select(Team).where(Team.name == name))
    if row is None:
        raise NotFound(f"no team named '{name}'", field="team")
    return row
