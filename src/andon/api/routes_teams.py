"""/api/v1/teams: teams, members, on-call and escalation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body

from andon.api.deps import Ctx, CursorParam, Limit, page
from andon.api.schemas import EscalationSet, MemberAdd, Reason, RotationSet, TeamCreate
from andon.auth import service as auth

router = APIRouter(prefix="/teams", tags=["teams"])


@router.get("")
def list_teams(ctx: Ctx, limit: Limit = 100, cursor: CursorParam = None) -> dict[str, Any]:
    """Teams visible to the caller, by name."""
    return page(auth.list_teams(ctx), lambda t: t.name, cursor, limit)


@router.post("", status_code=201)
def create_team(ctx: Ctx, body: TeamCreate) -> dict[str, Any]:
    """Create a team."""
    return auth.create_team(
        ctx, body.name, description=body.description, owners=body.owners, reason=body.reason
    ).as_dict()


@router.get("/{name}")
def get_team(ctx: Ctx, name: str) -> dict[str, Any]:
    """One team with its members."""
    return auth.get_team(ctx, name).as_dict()


@router.post("/{name}/members")
def add_member(ctx: Ctx, name: str, body: MemberAdd) -> dict[str, Any]:
    """Add a member (or change owner status)."""
    return auth.add_member(
        ctx, name, body.principal, owner=body.owner, reason=body.reason
    ).as_dict()


@router.delete("/{name}/members/{principal}")
def remove_member(
    ctx: Ctx, name: str, principal: str, body: Reason = Body(default_factory=Reason)
) -> dict[str, Any]:
    """Remove a member."""
    return auth.remove_member(ctx, name, principal, reason=body.reason).as_dict()


@router.get("/{name}/rotations")
def list_rotations(ctx: Ctx, name: str) -> list[dict[str, Any]]:
    """The team's on-call rotations."""
    return [r.as_dict() for r in auth.list_rotations(ctx, name)]


@router.put("/{name}/rotations/{rotation}")
def set_rotation(ctx: Ctx, name: str, rotation: str, body: RotationSet) -> dict[str, Any]:
    """Create or replace an on-call rotation."""
    return auth.set_rotation(
        ctx,
        name,
        rotation,
        body.members,
        timezone=body.timezone,
        handoff=body.handoff,
        period_hours=body.period_hours,
        starts_on=body.starts_on,
        reason=body.reason,
    ).as_dict()


@router.get("/{name}/oncall")
def oncall(
    ctx: Ctx, name: str, at: datetime | None = None, rotation: str | None = None
) -> dict[str, Any]:
    """Who gets paged now, or at ``at`` (ISO 8601)."""
    return auth.oncall(ctx, name, at=at, rotation=rotation).as_dict()


@router.get("/{name}/escalation")
def escalation(ctx: Ctx, name: str, at: datetime | None = None) -> list[dict[str, Any]]:
    """The escalation ladder resolved to principals."""
    return [r.as_dict() for r in auth.escalation(ctx, name, at=at)]


@router.put("/{name}/escalation/{level}")
def set_escalation(ctx: Ctx, name: str, level: str, body: EscalationSet) -> list[dict[str, Any]]:
    """Point a rung at a principal or rotation."""
    return [
        r.as_dict()
        for r in auth.set_escalation(
            ctx, name, level, principal=body.principal, rotation=body.rotation, reason=body.reason
        )
    ]
