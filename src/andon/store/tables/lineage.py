"""The lineage graph's table: typed edges between objects, by id. Written by
``andon.lineage`` only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class LineageEdge(Base):
    """A typed edge between two objects, by id: ``src`` was used by / produced ``dst``."""

    __tablename__ = "lineage_edges"
    __table_args__ = (UniqueConstraint("src_id", "dst_id", "relation"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    src_id: Mapped[str] = mapped_column(String(80))
    src_kind: Mapped[str] = mapped_column(String(40))
    dst_id: Mapped[str] = mapped_column(String(80), index=True)
    dst_kind: Mapped[str] = mapped_column(String(40))
    relation: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
