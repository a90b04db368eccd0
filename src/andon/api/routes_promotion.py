"""/api/v1: gates, four-eyes approvals, promotion and rollback of model versions (over the
policy services)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query

import andon.serve.facts  # noqa: F401  (registers the canary and shadow gate facts)
from andon.api import resources_promotion as r
from andon.api.deps import Ctx, CursorParam, Limit
from andon.api.paging import page
from andon.api.paths import Name, ObjectId, Stage, Team, Version, model_ref, version_ref
from andon.api.problems import responses
from andon.api.schemas import ReasonBody
from andon.api.schemas_promotion import ApprovalDecisionBody, PromoteBody, RollbackBody
from andon.policy import approvals, promotion
from andon.policy import service as policy
from andon.policy.records import GateDecisionRecord, PromotionRecord

router = APIRouter(tags=["promotion"], responses=responses(404, 422))

CHANGE = responses(409)
PROMOTE: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The gate, the approvals or the training data refused it, or the stage "
        "moved meanwhile (`winner` names the version that holds it)."
    },
    423: {"description": "The model's andon cord is pulled."},
}


@router.post(
    "/models/{team}/{name}/versions/{version}/gates/{stage}", response_model=GateDecisionRecord
)
def check_gate(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    stage: Stage,
    body: ReasonBody = Body(default_factory=ReasonBody),
) -> dict[str, Any]:
    """Evaluate the stage's gate on current facts and store the decision; a failing gate is a
    stored result (``passed`` false, each clause explained), not an error."""
    return policy.check_gate(
        ctx, version_ref(team, name, version), stage, reason=body.reason
    ).as_dict()


@router.post(
    "/models/{team}/{name}/versions/{version}/approval-requests/{stage}",
    status_code=201,
    response_model=r.ApprovalRequestResponse,
    responses=CHANGE,
)
def request_approval(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    stage: Stage,
    body: ReasonBody = Body(default_factory=ReasonBody),
) -> dict[str, Any]:
    """Ask for the approvals the stage requires to promote this version."""
    return approvals.request_approval(
        ctx, version_ref(team, name, version), stage, reason=body.reason
    ).as_dict()


@router.get("/approval-requests", response_model=r.ApprovalRequestPage)
def list_approval_requests(
    ctx: Ctx,
    status: Literal["pending", "approved", "rejected", "expired", "used"] | None = Query(
        None, description="Only requests in this status."
    ),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Approval requests the caller may read, newest first (the newest 1,000)."""
    found = approvals.list_requests(ctx, status=status)
    return page(
        "approval-requests",
        found,
        lambda q: f"{q.requested_at.isoformat()} {q.id}",
        cursor,
        limit,
        descending=True,
    )


@router.post(
    "/approval-requests/{request_id}/decision",
    response_model=r.ApprovalRequestResponse,
    responses=CHANGE,
)
def decide_approval(ctx: Ctx, request_id: ObjectId, body: ApprovalDecisionBody) -> dict[str, Any]:
    """Approve or reject a request, filling one required role (four eyes: not the requester,
    one role per person)."""
    return approvals.decide_approval(
        ctx, request_id, body.decision, role=body.role, reason=body.reason
    ).as_dict()


@router.post(
    "/models/{team}/{name}/versions/{version}/promotions/{stage}",
    status_code=201,
    response_model=PromotionRecord,
    responses=PROMOTE,
)
def promote(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    stage: Stage,
    body: PromoteBody = Body(default_factory=PromoteBody),
) -> dict[str, Any]:
    """Promote the version to the stage (move its alias): refused with 409 while the gate,
    the approvals or the training data checks say no, or when the stage moved after this
    request read it (or is not at `expected_version`): `winner` names the version it holds;
    423 while the cord is pulled."""
    return promotion.promote(
        ctx,
        version_ref(team, name, version),
        stage,
        reason=body.reason,
        expected_version=body.expected_version,
    ).as_dict()


@router.post(
    "/models/{team}/{name}/rollbacks/{stage}",
    status_code=201,
    response_model=PromotionRecord,
    responses=CHANGE,
)
def rollback(ctx: Ctx, team: Team, name: Name, stage: Stage, body: RollbackBody) -> dict[str, Any]:
    """Restore the version the stage held before its current one."""
    return promotion.rollback(ctx, model_ref(team, name), stage, reason=body.reason).as_dict()


@router.get("/models/{team}/{name}/promotions", response_model=r.PromotionPage)
def list_promotions(
    ctx: Ctx,
    team: Team,
    name: Name,
    stage: str | None = Query(None, max_length=100, description="Only this stage."),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The model's promotions and rollbacks, newest first."""
    found = promotion.promotions(ctx, model_ref(team, name), stage=stage)
    return page(
        "promotions",
        found,
        lambda p: f"{p.promoted_at.isoformat()} {p.id}",
        cursor,
        limit,
        descending=True,
    )
