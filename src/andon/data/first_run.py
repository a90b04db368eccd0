"""A contract file's first check run: applying it as ``andon contract apply`` would.

``andon check run FILE`` on a file whose ``id`` and ``version`` are not applied yet applies
it first, through :func:`andon.data.contract_versions.apply_contract`: the same permission
check (``contract.apply`` on the team), the same audit entry and event, the same grant of
the file's folder as a data root. The team it goes to is, in this order:

1. the one the caller names (``team``);
2. the team that owns the contract already (another version of it is applied);
3. the caller's *default team*: the one team the principal belongs to, as a member or by a
   role binding scoped to that team;
4. on an install where no team exists at all (a fresh ``andon init``), a team named after the
   principal, created through :func:`andon.auth.service.create_team` (``team.create``,
   audited) with the principal as its owner.

Anything else (several teams, or none while others exist, or none and no right to create
one) is an :class:`Invalid` naming the field ``team``: guessing would put a contract in a
team its owners do not expect.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid
from andon.data.contract_versions import apply_contract
from andon.data.contracts import Contract
from andon.data.records import FirstApply
from andon.store.tables import auth as t
from andon.store.tables import data as d


def belongs_to(session: Session, principal_id: str) -> list[str]:
    """Names of the teams the principal is a member of or holds a team-scoped role in."""
    members = select(t.Team.name).join(t.TeamMember, t.TeamMember.team_id == t.Team.id)
    bound = select(t.Team.name).join(t.RoleBinding, t.RoleBinding.scope_id == t.Team.id)
    names = set(session.scalars(members.where(t.TeamMember.principal_id == principal_id)))
    names |= set(
        session.scalars(
            bound.where(t.RoleBinding.principal_id == principal_id, t.RoleBinding.scope == "team")
        )
    )
    return sorted(names)


def personal_team_name(principal: str) -> str:
    """The team name made from a principal's name (``jane.doe@corp`` -> ``jane-doe-corp``)."""
    return re.sub(r"[^a-z0-9_-]", "-", principal)[:63]


def _team_for(session: Session, ctx: Context, contract: Contract) -> tuple[str, bool]:
    """The team the first run applies ``contract`` to, and whether it must be created."""
    row = session.scalar(select(d.DataContract).where(d.DataContract.key == contract.id))
    if row is not None:  # another version is applied: its team owns the contract
        owner = session.get(t.Team, row.team_id)
        assert owner is not None
        return owner.name, False
    mine = belongs_to(session, ctx.principal.id)
    if len(mine) == 1:
        return mine[0], False
    you = ctx.principal.name
    if mine:
        raise Invalid(
            f"{you} belongs to {len(mine)} teams ({', '.join(mine)}): name the one that will "
            f"own contract '{contract.id}'",
            field="team",
        )
    if session.scalar(select(t.Team.id).limit(1)) is not None:
        raise Invalid(
            f"{you} belongs to no team: name the team that will own contract '{contract.id}'",
            field="team",
            hint=f"join one, or create one: `andon team create NAME --owner {you}`",
        )
    if not ctx.can("team.create"):
        raise Invalid(
            f"no team exists yet, and {you} may not create one: name the team that will own "
            f"contract '{contract.id}' once a platform-admin created it",
            field="team",
            hint=f"a platform-admin runs `andon team create NAME --owner {you}`",
        )
    return personal_team_name(you), True


def apply_first(
    ctx: Context, file: Path, contract: Contract, team: str | None, *, reason: str = ""
) -> FirstApply:
    """Apply the unapplied contract ``file`` (parsed as ``contract``) for its first check run.

    ``team`` names the owner; without it the team is chosen as the module says. Permission,
    audit and event are those of :func:`~andon.data.contract_versions.apply_contract` (and of
    :func:`andon.auth.service.create_team` when a personal team is created).
    """
    with ctx.db.read() as session:
        if team is None:
            team, create = _team_for(session, ctx, contract)
        else:
            create = False
            row = session.scalar(select(d.DataContract).where(d.DataContract.key == contract.id))
            owner = session.get(t.Team, row.team_id) if row is not None else None
            if owner is not None and owner.name != team:
                raise Conflict(
                    f"contract '{contract.id}' is owned by team '{owner.name}', not '{team}'",
                    field="team",
                )
    why = reason or f"first check run of {file}"
    if create:
        auth.create_team(
            ctx,
            team,
            description=f"{ctx.principal.name}'s team, created by a first check run",
            owners=[ctx.principal.name],
            reason=why,
        )
    version = apply_contract(ctx, file, team, reason=why)
    return FirstApply(version, team_created=create)
