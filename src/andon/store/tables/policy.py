"""Tables of the policy domain: stage policies, gate decisions, approvals, promotions, cords.

Only :mod:`andon.policy` services touch these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class StagePolicy(Base):
    """One applied version of a team's (or one model's) stage policy.

    ``model_name`` is ``""`` for the team-wide policy; a model's own policy wins over it.
    """

    __tablename__ = "stage_policies"
    __table_args__ = (UniqueConstraint("team_id", "model_name", "version"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    model_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    content: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    applied_by: Mapped[str] = mapped_column(String(100))
    applied_at: Mapped[datetime] = mapped_column(Timestamp)


class GateDecision(Base):
    """A gate evaluated for one model version and stage: every input fact, clause by clause."""

    __tablename__ = "gate_decisions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model_version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), index=True)
    stage: Mapped[str] = mapped_column(String(100))
    policy_id: Mapped[str] = mapped_column(ForeignKey("stage_policies.id"))
    policy_version: Mapped[int] = mapped_column(Integer)
    gate: Mapped[str] = mapped_column(Text)
    passed: Mapped[bool] = mapped_column(Boolean)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    clauses: Mapped[list[Any]] = mapped_column(JSON)
    evaluation_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(Timestamp)


class ApprovalRequest(Base):
    """A request to promote a version to a stage, waiting for the roles its policy names."""

    __tablename__ = "approval_requests"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model_version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), index=True)
    stage: Mapped[str] = mapped_column(String(100))
    policy_id: Mapped[str] = mapped_column(ForeignKey("stage_policies.id"))
    policy_version: Mapped[int] = mapped_column(Integer)
    required_roles: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class Approval(Base):
    """One person's decision on a request, filling one required role."""

    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("request_id", "role", name="uq_approvals_request_role"),
        UniqueConstraint("request_id", "principal", name="uq_approvals_request_principal"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    principal: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(Timestamp)


class Promotion(Base):
    """A stage alias moved by a promotion or a rollback: the history rollback reads."""

    __tablename__ = "promotions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"))
    model_version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), index=True)
    stage: Mapped[str] = mapped_column(String(100))
    alias: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int] = mapped_column(Integer)
    gate_decision_id: Mapped[str | None] = mapped_column(
        ForeignKey("gate_decisions.id"), nullable=True
    )
    request_id: Mapped[str | None] = mapped_column(
        ForeignKey("approval_requests.id"), nullable=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    promoted_by: Mapped[str] = mapped_column(String(100))
    promoted_at: Mapped[datetime] = mapped_column(Timestamp)


class AndonCord(Base):
    """The andon cord of one model: while pulled, nothing promotes it."""

    __tablename__ = "andon_cords"
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"), primary_key=True)
    pulled: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(Timestamp)


class LineCord(Base):
    """The cord of a whole team (``scope='team'``) or of every team (``scope='all'``).

    While pulled, nothing in the scope is promoted or served. Releasing ``all`` takes two
    principals: the first release is recorded in ``release_requested_by`` and a different
    principal completes it.
    """

    __tablename__ = "line_cords"
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """The team's id, or ``""`` for scope ``all``."""
    pulled: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(Timestamp)
    release_requested_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    release_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


Index("ix_promotions_model_stage", Promotion.model_id, Promotion.stage, Promotion.promoted_at)
