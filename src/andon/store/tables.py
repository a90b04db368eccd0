"""SQLAlchemy 2 tables of the metadata store. One Alembic history covers them all.

Only services and queries touch these; the doors (CLI, API, console) never import them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)
# SQLite's INTEGER PRIMARY KEY is the rowid alias only when spelled INTEGER, not BIGINT.
Sequence = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)


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


class AuditEntry(Base):
    """Append-only, hash-chained. ``hash`` covers every other column."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    ts: Mapped[datetime] = mapped_column(Timestamp)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(80), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    change: Mapped[dict[str, Any]] = mapped_column(JSON)
    change_digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The id of the audit key whose HMAC ``hash`` is; NULL for legacy (plain SHA-256) entries.
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)


class AuditHead(Base):
    """The single row naming the chain's last entry; appends lock it, verify checks it.

    ``keyed_from`` is the first seq hashed with the audit key (migration 0010 set it to the
    head's seq + 1); entries before it are legacy, unkeyed. Anchors sign it, so moving it to
    pass off re-hashed entries as legacy is caught by ``andon audit verify --anchor``.
    """

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Sequence)
    hash: Mapped[str] = mapped_column(String(64))
    keyed_from: Mapped[int] = mapped_column(Sequence, server_default="1")


class OutboxEvent(Base):
    __tablename__ = "outbox"
    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(60), index=True)
    object_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class ConsumerCursor(Base):
    __tablename__ = "outbox_cursors"
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Sequence, default=0)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


Index("ix_audit_log_ts", AuditEntry.ts)
