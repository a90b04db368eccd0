"""/api/v1/teams: teams, members, on-call and escalation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from andon.api import resources as r
from andon.api.deps import Ctx, CursorParam, Instant, Limit
from andon.api.paging import page
from andon.api.problems import responses
from andon.api.schemas import EscalationSetBody, MemberAddBody, RotationSetBody, TeamCreateBody
from andon.auth import service as auth
from andon.auth.records import OnCallRecord, RotationRecord, RungRecord, TeamRecord

router = APIRouter(prefix="/teams", tags=["teams"], responses=responses(404))
CHANGE = responses(409)


@router.get("", response_model=r.TeamPage)
def list_teams(ctx: Ctx, limit: Limit = 100, cursor: CursorParam = None) -> dict[str, Any]:
    """Teams visible to the caller, by name."""
    return page("teams", auth.list_teams(ctx), lambda t: t.name, cursor, limit)


@router.post("", status_code=201, response_model=TeamRecord, responses=CHANGE)
def create_team(ctx: Ctx, body: TeamCreateBody) -> dict[str, Any]:
    """Create a team, optionally with its first owners."""
    return auth.create_team(
        ctx, body.name, description=body.description, owners=body.owners, reason=body.reason
    ).as_dict()


@router.get("/{name}", response_model=TeamRecord)
def get_team(ctx: Ctx, name: str) -> dict[str, Any]:
    """One team with its members."""
    return auth.get_team(ctx, name).as_dict()


@router.post("/{name}/members", response_model=TeamRecord)
def add_member(ctx: Ctx, name: str, body: MemberAddBody) -> dict[str, Any]:
    """Add a member (or change whether it is an owner)."""
    return auth.add_member(
        ctx, name, body.principal, owner=body.owner, reason=body.reason
    ).as_dict()


@router.delete("/{name}/members/{principal}", response_model=TeamRecord)
def remove_member(
    ctx: Ctx, name: str, principal: str, reason: str = Query("", max_length=2000)
) -> dict[str, Any]:
    """Remove a member."""
    return auth.remove_member(ctx, name, principal, reason=reason).as_dict()


@router.get("/{name}/rotations", response_model=list[RotationRecord])
def list_rotations(ctx: Ctx, name: str) -> list[dict[str, Any]]:
    """The team's on-call rotations."""
    return [rot.as_dict() for rot in auth.list_rotations(ctx, name)]


@router.put("/{name}/rotations/{rotation}", response_model=RotationRecord)
def set_rotation(ctx: Ctx, name: str, rotation: str, body: RotationSetBody) -> dict[str, Any]:
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


@router.get("/{name}/oncall", response_model=OnCallRecord)
def oncall(
    ctx: Ctx,
    name: str,
    at: Instant = None,
    rotation: str | None = Query(None, description="Which rotation; default the first by name."),
) -> dict[str, Any]:
    """Who gets paged now, or at ``at``."""
    return auth.oncall(ctx, name, at=at, rotation=rotation).as_dict()


@router.get("/{name}/escalation", response_model=list[RungRecord])
def escalation(ctx: Ctx, name: str, at: Instant = None) -> list[dict[str, Any]]:
    """The escalation ladder resolved to principals, now or at ``at``."""
    return [rung.as_dict() for rung in auth.escalation(ctx, name, at=at)]


@router.put("/{name}/escalation/{level}", response_model=list[RungRecord])
def set_escalation(
    ctx: Ctx,
    name: str,
    body: EscalationSetBody,
    level: str = Path(json_schema_extra={"enum": list(auth.ESCALATION_LEVELS)}),
) -> list[dict[str, Any]]:
    """Point a rung at a principal or at one of the team's rotations."""
    return [
        rung.as_dict()
        for rung in auth.set_escalation(
            ctx, name, level, principal=body.principal, rotation=body.rotation, reason=body.reason
        )
    ]
