"""The console's teams page: members, who is on call now, the escalation ladder.

Listed in :data:`andon.web.routes.PAGES`, the console's one route table.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import NotFound
from andon.web.shared import signed_in_page

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class TeamView:
    """A team as the console shows it: members, who is on call, the ladder."""

    name: str
    description: str
    owners: list[str]
    members: list[str]
    rotation: str | None
    oncall: str | None
    oncall_until: str | None
    ladder: list[tuple[str, str, str]]


def team_view(ctx: Context, name: str) -> TeamView:
    """The team ``name`` with its on-call shift (none without a rotation) and ladder."""
    team = auth.get_team(ctx, name)
    rotation: str | None = None
    oncall: str | None = None
    until: str | None = None
    try:
        now = auth.oncall(ctx, name)
    except NotFound:  # no rotation: the page says so
        pass
    else:
        rotation, oncall = now.rotation, now.principal
        until = f"{now.shift_end:%Y-%m-%d %H:%M}Z"
    ladder = [(r.level, r.principal, r.via) for r in auth.escalation(ctx, name)]
    return TeamView(
        team.name,
        team.description,
        team.owners,
        [m.name for m in team.members],
        rotation,
        oncall,
        until,
        ladder,
    )


@router.get("/console/teams")
def teams_page(request: Request) -> Response:
    """Every team the principal may read."""
    return signed_in_page(
        request,
        "teams.html",
        "teams",
        lambda ctx: {"teams": [team_view(ctx, team.name) for team in auth.list_teams(ctx)]},
    )
