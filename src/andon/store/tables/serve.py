"""Tables of the serve domain: gateway endpoints and their cords.

Only :mod:`andon.serve` services touch these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class Endpoint(Base):
    """A gateway endpoint as last applied (each change is a new ``version``, audited)."""

    __tablename__ = "endpoints"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    content: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    applied_by: Mapped[str] = mapped_column(String(100))
    applied_at: Mapped[datetime] = mapped_column(Timestamp)


class EndpointCord(Base):
    """The andon cord of one endpoint: while pulled, the gateway serves none of its traffic."""

    __tablename__ = "endpoint_cords"
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id"), primary_key=True)
    pulled: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(Timestamp)
