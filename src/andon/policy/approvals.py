"""Approval requests and four-eyes decisions: the door for their state.

A request asks for the roles the stage's policy names (``approval.request``). Each required
role is filled by one approve decision (``approval.decide``), under these rules:

* the requester cannot decide their own request;
* one person fills at most one role of a request;
* the decider must hold the role they fill at the model's scope (global, its team or its asset);
* approve and reject both take a reason; one reject closes the request;
* a request expires ``expires`` after it was made (the policy's stage says how long); an
  expired or closed request cannot be decided again.

Expiry is read against the context's clock when a request is read or decided, so nothing has
to run for a request to expire.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.clock import as_utc
from andon.core.context import SYSTEM, Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound
from andon.core.ids import new_id
from andon.lineage.service import link
from andon.policy.records import ApprovalRecord, RequestRecord
from andon.policy.service import model_and_version, stage_of, team_name
from andon.store.tables import policy as p
from andon.store.tables import registry as r

DECISIONS = ("approve", "reject")
STATUSES = ("pending", "approved", "rejected", "expired", "used")


def status_at(row: p.ApprovalRequest, now: datetime) -> str:
    """The request's status at ``now``: a pending or approved request past its expiry is
    ``expired``."""
    if row.status in ("pending", "approved") and now >= as_utc(row.expires_at):
        return "expired"
    return row.status


def request_record(session: Session, row: p.ApprovalRequest, now: datetime) -> RequestRecord:
    """The record of a request with its decisions (no permission check)."""
    version = session.get(r.ModelVersion, row.model_version_id)
    assert version is not None
    model = session.get(r.Model, version.model_id)
    assert model is not None
    decisions = session.scalars(
        select(p.Approval)
        .where(p.Approval.request_id == row.id)
        .order_by(p.Approval.decided_at, p.Approval.id)
    )
    return RequestRecord(
        id=row.id,
        model=model.name,
        team=team_name(session, model.team_id),
        version=version.version,
        stage=row.stage,
        policy_version=row.policy_version,
        required_roles=list(row.required_roles),
        status=status_at(row, now),
        requested_by=row.requested_by,
        requested_at=as_utc(row.requested_at),
        expires_at=as_utc(row.expires_at),
        approvals=[
            ApprovalRecord(a.id, a.role, a.principal, a.decision, a.reason, as_utc(a.decided_at))
            for a in decisions
        ],
    )


def request_approval(ctx: Context, ref: str, stage: str, *, reason: str = "") -> RequestRecord:
    """Ask for the approvals ``stage`` requires to promote the version ``ref`` names."""
    with ctx.db.transaction() as session:
        model, version = model_and_version(session, ref)
        ctx.require("approval.request", team_id=model.team_id, asset_id=model.asset_id)
        policy, rule = stage_of(session, model, stage)
        if not rule.approvals:
            raise Invalid(f"stage '{stage}' requires no approvals", field="stage")
        now = ctx.clock.now()
        for open_row in session.scalars(
            select(p.ApprovalRequest).where(
                p.ApprovalRequest.model_version_id == version.id,
                p.ApprovalRequest.stage == stage,
                p.ApprovalRequest.status == "pending",
            )
        ):
            if status_at(open_row, now) == "pending":
                raise Conflict(
                    f"request {open_row.id} for {model.name}@{version.version} to {stage} is "
                    "still open"
                )
        row = p.ApprovalRequest(
            id=new_id("approval_request"),
            model_version_id=version.id,
            stage=stage,
            policy_id=policy.id,
            policy_version=policy.version,
            required_roles=list(rule.approvals),
            status="pending",
            reason=reason,
            requested_by=ctx.principal.name,
            requested_at=now,
            expires_at=now + timedelta(seconds=rule.expires_seconds),
        )
        session.add(row)
        session.flush()
        record_change(
            session,
            ctx,
            action="approval.request",
            object_id=row.id,
            change={
                "model": model.name,
                "version": version.version,
                "stage": stage,
                "policy_version": policy.version,
                "required_roles": list(rule.approvals),
                "expires_at": row.expires_at.isoformat(),
            },
            reason=reason,
            event="approval.requested",
        )
        return request_record(session, row, now)


def _holds(ctx: Context, role: str, team_id: str, asset_id: str) -> bool:
    if ctx.principal is SYSTEM:
        return False  # the platform is not a person: it never fills a four-eyes role
    return any(g.role == role and g.covers(team_id, asset_id) for g in ctx.grants)


def decide_approval(
    ctx: Context, request_id: str, decision: str, *, role: str, reason: str
) -> RequestRecord:
    """Approve or reject request ``request_id``, filling ``role`` (four-eyes rules above)."""
    if decision not in DECISIONS:
        raise Invalid(f"'{decision}' is not approve or reject", field="decision")
    reason = reason.strip()
    if not reason:
        raise Invalid(f"say why you {decision}", field="reason")
    with ctx.db.transaction() as session:
        row = session.get(p.ApprovalRequest, request_id)
        if row is None:
            raise NotFound(f"no approval request '{request_id}'", field="request")
        version = session.get(r.ModelVersion, row.model_version_id)
        assert version is not None
        model = session.get(r.Model, version.model_id)
        assert model is not None
        ctx.require("approval.decide", team_id=model.team_id, asset_id=model.asset_id)
        now = ctx.clock.now()
        status = status_at(row, now)
        if status == "expired":
            raise Conflict(
                f"request {request_id} expired at {as_utc(row.expires_at).isoformat()}: "
                "ask for a new one"
            )
        if status != "pending":
            raise Conflict(f"request {request_id} is already {status}")
        if role not in row.required_roles:
            raise Invalid(
                f"request {request_id} needs {', '.join(row.required_roles)}, not '{role}'",
                field="role",
            )
        if row.requested_by == ctx.principal.name:
            raise Forbidden(
                f"four eyes: {ctx.principal.name} requested {request_id} and cannot decide it"
            )
        if not _holds(ctx, role, model.team_id, model.asset_id):
            raise Forbidden(
                f"{ctx.principal.name} does not hold the role '{role}' for model '{model.name}'"
            )
        earlier = {
            a.principal: a.role
            for a in session.scalars(select(p.Approval).where(p.Approval.request_id == row.id))
        }
        if ctx.principal.name in earlier:
            raise Forbidden(
                f"four eyes: {ctx.principal.name} already filled '{earlier[ctx.principal.name]}' "
                f"on {request_id}; one person cannot fill two roles"
            )
        if role in earlier.values():
            raise Conflict(f"role '{role}' of {request_id} is already filled")
        approval = p.Approval(
            id=new_id("approval"),
            request_id=row.id,
            role=role,
            principal=ctx.principal.name,
            decision=decision,
            reason=reason,
            decided_at=now,
        )
        try:
            with session.begin_nested():
                session.add(approval)
                session.flush()
        except IntegrityError:
            raise Conflict(f"{request_id} was decided concurrently; retry") from None
        filled = set(earlier.values()) | {role}
        new_status = (
            "rejected"
            if decision == "reject"
            else "approved"
            if filled >= set(row.required_roles)
            else "pending"
        )
        if new_status != "pending":
            moved = session.execute(
                update(p.ApprovalRequest)
                .where(p.ApprovalRequest.id == row.id, p.ApprovalRequest.status == "pending")
                .values(status=new_status, decided_at=now)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict(f"{request_id} was decided concurrently; retry")
            session.refresh(row)
        if decision == "approve":
            link(
                session,
                src_id=version.id,
                src_kind="model_version",
                dst_id=approval.id,
                dst_kind="approval",
                relation="input",
                at=now,
            )
        record_change(
            session,
            ctx,
            action="approval.decide",
            object_id=approval.id,
            change={
                "request": row.id,
                "model": model.name,
                "version": version.version,
                "stage": row.stage,
                "role": role,
                "decision": decision,
                "status": new_status,
            },
            reason=reason,
            event=f"approval.{'approved' if decision == 'approve' else 'rejected'}",
        )
        return request_record(session, row, now)


def list_requests(ctx: Context, *, status: str | None = None) -> list[RequestRecord]:
    """Approval requests the principal may read, newest first (``status`` filters)."""
    if status is not None and status not in STATUSES:
        raise Invalid(f"'{status}' is not one of {', '.join(STATUSES)}", field="status")
    with ctx.db.read() as session:
        ctx.require_somewhere("policy.read")
        now = ctx.clock.now()
        rows = session.execute(
            select(p.ApprovalRequest, r.Model.team_id, r.Model.asset_id)
            .join(r.ModelVersion, r.ModelVersion.id == p.ApprovalRequest.model_version_id)
            .join(r.Model, r.Model.id == r.ModelVersion.model_id)
            .order_by(p.ApprovalRequest.requested_at.desc(), p.ApprovalRequest.id.desc())
            .limit(1000)
        ).all()
        out = []
        for row, team_id, asset_id in rows:
            if not ctx.can("policy.read", team_id=team_id, asset_id=asset_id):
                continue
            if status is not None and status_at(row, now) != status:
                continue
            out.append(request_record(session, row, now))
        return out
