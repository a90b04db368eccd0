"""Tables of identity: teams, principals, members, assets, role bindings, API tokens,
on-call rotations and escalation steps. Written by ``andon.auth`` services only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Principal(Base):
    __tablename__ = "principals"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"), primary_key=True)
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)


class Asset(Base):
    """Anything a team owns: datasets, models, endpoints register here as they arrive."""

    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("team_id", "kind", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class RoleBinding(Base):
    __tablename__ = "role_bindings"
    __table_args__ = (UniqueConstraint("principal_id", "role", "scope", "scope_id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(10))
    # '' rather than NULL for global so the unique constraint holds on every backend.
    scope_id: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class Rotation(Base):
    """An on-call rotation: ordered members, handing off every ``period_hours`` at a local time."""

    __tablename__ = "rotations"
    __table_args__ = (UniqueConstraint("team_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    members: Mapped[list[str]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    handoff: Mapped[str] = mapped_column(String(5))
    period_hours: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class EscalationStep(Base):
    """One rung of a team's escalation ladder: a principal or a rotation."""

    __tablename__ = "escalation_steps"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    principal_id: Mapped[str | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    rotation_id: Mapped[str | None] = mapped_column(ForeignKey("rotations.id"), nullable=True)
