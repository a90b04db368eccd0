"""Data roots: the folders a team's file and DuckDB servers may read.

One row per folder a platform-admin granted a team (``andon data root add``) or the local CLI
granted when its own user applied a contract from that folder. Only :mod:`andon.data.roots`
touches this table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class DataRoot(Base):
    """A folder (absolute, symlinks resolved) inside which a team's contracts may name files."""

    __tablename__ = "data_roots"
    __table_args__ = (Unique("team_id", "path"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(Timestamp)
    # "admin" (andon data root add) or "cli-apply" (the folder of a contract applied locally).
    origin: Mapped[str] = mapped_column(String(20))
