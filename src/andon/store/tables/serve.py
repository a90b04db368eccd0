"""Tables of the serve domain: gateway endpoints, their cords, their budget ledger and
their deployments, and the figures of each variant a model endpoint serves.

Only :mod:`andon.serve` services touch these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
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


class BudgetWindow(Base):
    """One budget's ledger for one UTC window: settled spend and open reservations.

    Money is integer nanodollars. Reservations move ``reserved_nanos`` up with one
    conditional UPDATE (``spent + reserved + amount <= limit``), so no window is overspent.
    """

    __tablename__ = "budget_windows"
    __table_args__ = (UniqueConstraint("endpoint", "scope", "key", "period", "window"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    """The endpoint, team or principal name the budget counts for."""
    period: Mapped[str] = mapped_column(String(8))
    window: Mapped[str] = mapped_column(String(10))
    """The window as text: ``2026-11-23`` (day) or ``2026-11`` (month)."""
    window_start: Mapped[datetime] = mapped_column(Timestamp)
    limit_nanos: Mapped[int] = mapped_column(BigInteger)
    spent_nanos: Mapped[int] = mapped_column(BigInteger)
    reserved_nanos: Mapped[int] = mapped_column(BigInteger)
    warned: Mapped[bool] = mapped_column(Boolean)
    """``budget.warning`` was emitted for this window (80 %)."""
    exhausted: Mapped[bool] = mapped_column(Boolean)
    """``budget.exhausted`` was emitted for this window (100 %)."""


class BudgetReservation(Base):
    """Money held for one request in flight, on every window it counts against, until
    settled, released, or its lease passes (then :func:`expire_leases` frees it)."""

    __tablename__ = "budget_reservations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    windows: Mapped[list[str]] = mapped_column(JSON)
    """Ids of the :class:`BudgetWindow` rows holding ``amount_nanos`` each."""
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    lease_until: Mapped[datetime] = mapped_column(Timestamp, index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class EndpointDeployment(Base):
    """A model version a model endpoint started serving (its alias moved, or it was applied).

    ``cause`` is ``promote``, ``rollback`` or ``alias`` (moved by hand), with the promotion's
    id for the first two and the audit entry of the move; both are None when no move is on
    record (an alias set before audit entries named it).
    """

    __tablename__ = "endpoint_deployments"
    __table_args__ = (UniqueConstraint("endpoint_id", "seq"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id"))
    seq: Mapped[int] = mapped_column(Integer)
    """1, 2, ... per endpoint: the order, and what makes two concurrent syncs record one."""
    model_version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"))
    model: Mapped[str] = mapped_column(String(200))
    alias: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    artifact_digest: Mapped[str] = mapped_column(String(64))
    cause: Mapped[str | None] = mapped_column(String(16), nullable=True)
    promotion_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cause_audit_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    deployed_at: Mapped[datetime] = mapped_column(Timestamp)
    recorded_by: Mapped[str] = mapped_column(String(100))


class VariantStat(Base):
    """One gateway worker's figures for one variant of a model endpoint in one UTC minute.

    Each worker adds up its requests in memory and writes its own rows (its totals so far
    for the minute) about once a second, so no two workers write the same row and a write
    repeated is harmless. Readers sum over workers and minutes.
    """

    __tablename__ = "variant_stats"
    endpoint: Mapped[str] = mapped_column(String(100), primary_key=True)
    variant: Mapped[str] = mapped_column(String(16), primary_key=True)
    """``primary``, ``canary`` or ``shadow``."""
    model_version_id: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    window_start: Mapped[datetime] = mapped_column(Timestamp, primary_key=True)
    """The UTC minute the requests arrived in."""
    worker: Mapped[str] = mapped_column(String(40), primary_key=True)
    """The gateway worker that counted them (pid and a token of its start)."""
    alias: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    latency_ms_sum: Mapped[float] = mapped_column(Float)
    latency_ms_max: Mapped[float] = mapped_column(Float)
    histogram: Mapped[dict[str, int]] = mapped_column(JSON)
    """Latency bucket index -> count (:mod:`andon.serve.variant_stats` holds the bounds)."""
    cost_nanos: Mapped[int] = mapped_column(BigInteger)
    guard_violations: Mapped[int] = mapped_column(BigInteger)
    compared: Mapped[int] = mapped_column(BigInteger)
    """Shadow only: prediction rows compared with the answer served."""
    agreed: Mapped[int] = mapped_column(BigInteger)
    """Shadow only: of those, rows whose prediction was the same."""
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class GuardViolation(Base):
    """An answer an output guard refused (never sent), with its evidence masked: the raw
    value an answer held is stored nowhere."""

    __tablename__ = "guard_violations"
    __table_args__ = (Index("ix_guard_violations_endpoint_at", "endpoint_id", "at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id"))
    kind: Mapped[str] = mapped_column(String(16))
    """``pii``, ``deny``, ``json_schema`` or ``max_chars``."""
    detector: Mapped[str] = mapped_column(String(100))
    evidence: Mapped[str] = mapped_column(Text)
    principal: Mapped[str] = mapped_column(String(100))
    """Who sent the request whose answer was refused."""
    action: Mapped[str] = mapped_column(String(16))
    """``refuse`` or ``fallback``: what the caller got instead."""
    at: Mapped[datetime] = mapped_column(Timestamp)
