"""Typed records the serve services return, and the snapshot each gateway worker serves from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from andon.core.records import published
from andon.serve.spec import EndpointSpec


@published
@dataclass(frozen=True)
class EndpointRecord:
    """One endpoint as last applied."""

    id: str
    name: str
    team: str
    kind: str
    version: int
    spec: dict[str, Any]
    """The checked endpoint (``EndpointSpec.as_dict``): upstreams, limits, fallback."""
    digest: str
    """sha256 of the YAML as applied."""
    applied_by: str
    applied_at: datetime
    changed: bool = True
    """False when the content applied was the stored version's (nothing changed)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "team": self.team,
            "kind": self.kind,
            "version": self.version,
            "spec": self.spec,
            "digest": self.digest,
            "applied_by": self.applied_by,
            "applied_at": self.applied_at.isoformat(),
            "changed": self.changed,
        }


@dataclass(frozen=True, slots=True)
class Stop:
    """A pulled cord that stops an endpoint's traffic."""

    scope: str
    """``endpoint``, ``model``, ``team`` or ``all``."""
    target: str
    """The endpoint, model or team name; ``*`` for ``all``."""
    by: str
    at: datetime
    reason: str

    def message(self) -> str:
        """What a refused caller reads: ``stopped by P at T: reason``."""
        where = "every endpoint" if self.scope == "all" else f"{self.scope} '{self.target}'"
        return f"{where} is stopped by {self.by} at {self.at.isoformat()}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Binding:
    """The model version a model endpoint serves right now (its alias's target)."""

    model: str
    alias: str
    version: int
    model_version_id: str
    artifact_digest: str
    artifact_format: str
    signature: dict[str, Any] = field(default_factory=dict)
    """The version's registered signature (inputs, outputs, feature names, skops trusted
    types), as the registry stored it."""
    variant: str = "primary"
    """``primary`` (the endpoint's alias), ``canary`` or ``shadow`` (docs/canary.md)."""


@dataclass(frozen=True)
class Snapshot:
    """Everything a gateway worker needs to route and refuse, read in one transaction.

    ``seq`` is the audit head's sequence when it was read: every state change writes an audit
    entry, so a worker that sees a larger ``seq`` knows its snapshot is stale.
    """

    seq: int
    endpoints: dict[str, EndpointSpec]
    endpoint_ids: dict[str, str]
    team_ids: dict[str, str]
    """Team name -> id, for the permission check of each endpoint's team."""
    asset_ids: dict[str, str]
    """Endpoint name -> its asset id."""
    stops: dict[str, Stop] = field(default_factory=dict)
    """Endpoint name -> the cord that stops it (the first of endpoint, model, team, all)."""
    bindings: dict[str, Binding] = field(default_factory=dict)
    """Model endpoint name -> the version its alias points to (absent: alias not set)."""
    variants: dict[str, dict[str, Binding]] = field(default_factory=dict)
    """Model endpoint name -> variant (``primary``, ``canary``, ``shadow``) -> the version
    that variant's alias points to; a variant whose alias points nowhere is absent.
    ``variants[name]["primary"]`` is ``bindings[name]``."""


@published
@dataclass(frozen=True)
class BudgetRecord:
    """One budget's current window: limit, settled spend, money held, what is left."""

    endpoint: str
    team: str
    """The endpoint's team."""
    scope: str
    """``endpoint``, ``team`` or ``principal``."""
    key: str
    """The endpoint, team or principal name the budget counts for."""
    period: str
    """``day`` or ``month`` (UTC)."""
    window_start: datetime
    limit_nanos: int
    spent_nanos: int
    """Settled: what served requests cost."""
    reserved_nanos: int
    """Held for requests in flight."""
    left_nanos: int
    resets_at: datetime
    percent: float
    """(spent + reserved) / limit, in percent."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: nanodollars as integers, and exact USD text beside them."""
        from andon.serve.budgets import usd

        return {
            "endpoint": self.endpoint,
            "team": self.team,
            "scope": self.scope,
            "key": self.key,
            "period": self.period,
            "window_start": self.window_start.isoformat(),
            "limit_nanos": self.limit_nanos,
            "spent_nanos": self.spent_nanos,
            "reserved_nanos": self.reserved_nanos,
            "left_nanos": self.left_nanos,
            "limit": usd(self.limit_nanos),
            "spent": usd(self.spent_nanos),
            "reserved": usd(self.reserved_nanos),
            "left": usd(self.left_nanos),
            "resets_at": self.resets_at.isoformat(),
            "percent": self.percent,
        }


@published
@dataclass(frozen=True)
class DeploymentRecord:
    """A model version a model endpoint started serving, and the move that caused it."""

    id: str
    endpoint: str
    endpoint_id: str
    team: str
    model: str
    alias: str
    version: int
    from_version: int | None
    """The version the endpoint served before (None: its first deployment)."""
    model_version_id: str
    artifact_digest: str
    cause: str | None
    """``promote``, ``rollback`` or ``alias`` (moved by hand); None when no move is on record."""
    promotion_id: str | None
    """The promotion or rollback that moved the alias (``cause`` promote or rollback)."""
    cause_audit_id: str | None
    """The audit entry of the alias move."""
    deployed_at: datetime
    recorded_by: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "endpoint_id": self.endpoint_id,
            "team": self.team,
            "model": self.model,
            "alias": self.alias,
            "version": self.version,
            "from_version": self.from_version,
            "model_version_id": self.model_version_id,
            "artifact_digest": self.artifact_digest,
            "cause": self.cause,
            "promotion_id": self.promotion_id,
            "cause_audit_id": self.cause_audit_id,
            "deployed_at": self.deployed_at.isoformat(),
            "recorded_by": self.recorded_by,
        }


@published
@dataclass(frozen=True)
class VariantRecord:
    """One variant of a model endpoint and how the version it served did (``andon endpoint
    variants``): latency, errors, cost and, for a shadow, agreement with the answer served."""

    endpoint: str
    variant: str
    """``primary``, ``canary`` or ``shadow``."""
    alias: str
    model: str
    version: int
    model_version_id: str
    requests: int
    errors: int
    error_rate: float | None
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    cost_nanos: int
    """The endpoint's price per request times its requests (a shadow is charged to nobody:
    this is what serving it would have cost)."""
    guard_violations: int
    """Always 0 until guards count here."""
    compared: int
    """Shadow: prediction rows compared with the answer served."""
    agreement: float | None
    """Shadow: share of compared rows with the same prediction (None otherwise)."""
    first_minute: datetime
    last_minute: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "endpoint": self.endpoint,
            "variant": self.variant,
            "alias": self.alias,
            "model": self.model,
            "version": self.version,
            "model_version_id": self.model_version_id,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "mean_ms": self.mean_ms,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "cost_nanos": self.cost_nanos,
            "guard_violations": self.guard_violations,
            "compared": self.compared,
            "agreement": self.agreement,
            "first_minute": self.first_minute.isoformat(),
            "last_minute": self.last_minute.isoformat(),
        }
