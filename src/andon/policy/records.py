"""Typed records the policy services return (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from andon.core.records import one_of, published


@dataclass(frozen=True)
class PolicyRecord:
    """One applied version of a stage policy."""

    id: str
    team: str
    model: str | None
    version: int
    stages: dict[str, Any]
    digest: str
    applied_by: str
    applied_at: datetime
    changed: bool = True

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "team": self.team,
            "model": self.model,
            "version": self.version,
            "stages": self.stages,
            "digest": self.digest,
            "applied_by": self.applied_by,
            "applied_at": self.applied_at.isoformat(),
            "changed": self.changed,
        }


@published
@dataclass(frozen=True)
class GateDecisionRecord:
    """A stored gate decision with the facts it read and each clause's outcome."""

    id: str
    model: str
    version: int
    stage: str
    policy_id: str
    policy_version: int
    gate: str
    passed: bool
    facts: dict[str, Any]
    clauses: list[dict[str, Any]]
    """Each clause: its text, passed, the values it read, an error if any."""
    evaluation_id: str | None
    decided_by: str
    decided_at: datetime

    @property
    def failed_clauses(self) -> list[dict[str, Any]]:
        """The clauses that did not pass."""
        return [c for c in self.clauses if not c["passed"]]

    def summary(self) -> str:
        """One line: which clauses failed and the values they read."""
        parts = []
        for clause in self.failed_clauses:
            values = ", ".join(f"{k}={v!r}" for k, v in clause["values"].items())
            why = clause["error"] or values
            parts.append(f"{clause['clause']} ({why})" if why else clause["clause"])
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "gate": self.gate,
            "passed": self.passed,
            "facts": self.facts,
            "clauses": self.clauses,
            "evaluation_id": self.evaluation_id,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat(),
        }


@published
@dataclass(frozen=True)
class ApprovalRecord:
    """One decision on a request."""

    id: str
    role: str
    principal: str
    decision: Annotated[str, one_of("approve", "reject")]
    reason: str
    decided_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "role": self.role,
            "principal": self.principal,
            "decision": self.decision,
            "reason": self.reason,
            "decided_at": self.decided_at.isoformat(),
        }


@dataclass(frozen=True)
class RequestRecord:
    """An approval request and the decisions on it so far."""

    id: str
    model: str
    team: str
    version: int
    stage: str
    policy_version: int
    required_roles: list[str]
    status: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    approvals: list[ApprovalRecord] = field(default_factory=list)

    @property
    def missing_roles(self) -> list[str]:
        """Required roles nobody has approved yet."""
        done = {a.role for a in self.approvals if a.decision == "approve"}
        return [role for role in self.required_roles if role not in done]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "model": self.model,
            "team": self.team,
            "version": self.version,
            "stage": self.stage,
            "policy_version": self.policy_version,
            "required_roles": self.required_roles,
            "missing_roles": self.missing_roles,
            "status": self.status,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "approvals": [a.as_dict() for a in self.approvals],
        }


@published
@dataclass(frozen=True)
class PromotionRecord:
    """A stage alias moved by a promotion or a rollback."""

    id: str
    model: str
    stage: str
    alias: str
    kind: Annotated[str, one_of("promote", "rollback")]
    from_version: int | None
    to_version: int
    gate_decision_id: str | None
    request_id: str | None
    reason: str
    promoted_by: str
    promoted_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "model": self.model,
            "stage": self.stage,
            "alias": self.alias,
            "kind": self.kind,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "gate_decision_id": self.gate_decision_id,
            "request_id": self.request_id,
            "reason": self.reason,
            "promoted_by": self.promoted_by,
            "promoted_at": self.promoted_at.isoformat(),
        }


@dataclass(frozen=True)
class CordRecord:
    """One andon cord: of a model, an endpoint, a team, or of every team (``all``)."""

    scope: str
    """``model``, ``endpoint``, ``team`` or ``all``."""
    target: str
    """The model, endpoint or team name; ``*`` for ``all``."""
    team: str | None
    """The team that owns the target; None for ``all``."""
    pulled: bool
    reason: str
    changed_by: str
    changed_at: datetime
    release_requested_by: str | None = None
    """Who asked to release ``all`` (a second principal completes the release)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "scope": self.scope,
            "target": self.target,
            "team": self.team,
            "pulled": self.pulled,
            "reason": self.reason,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat(),
            "release_requested_by": self.release_requested_by,
        }
