"""Teams and their members (owners included)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.auth.queries import TEAM_NAME, check_name, flush_unique, principal_row, team_by_name
from andon.auth.records import MemberRecord, TeamRecord
from andon.core.clock import as_utc
from andon.core.context import SYSTEM, Context
from andon.core.errors import Forbidden, NotFound
from andon.core.ids import new_id
from andon.core.permissions import TEAM_OWNER, allows
from andon.store.tables import auth as t


def _team_record(session: Session, row: t.Team) -> TeamRecord:
    members = session.execute(
        select(t.Principal.name, t.TeamMember.is_owner)
        .join(t.TeamMember, t.TeamMember.principal_id == t.Principal.id)
        .where(t.TeamMember.team_id == row.id)
        .order_by(t.Principal.name)
    ).all()
    return TeamRecord(
        row.id,
        row.name,
        row.description,
        [MemberRecord(name, bool(owner)) for name, owner in members],
        as_utc(row.created_at),
    )


def create_team(
    ctx: Context,
    name: str,
    *,
    description: str = "",
    owners: list[str] | None = None,
    reason: str = "",
) -> TeamRecord:
    """Create a team, optionally with its first owners."""
    check_name(name, "name", TEAM_NAME)
    owners = sorted(set(owners or []))
    with ctx.db.transaction() as session:
        ctx.require("team.create")
        row = t.Team(
            id=new_id("team"), name=name, description=description, created_at=ctx.clock.now()
        )
        session.add(row)
        flush_unique(session, f"team '{name}'")
        for owner in owners:
            session.add(
                t.TeamMember(
                    team_id=row.id, principal_id=principal_row(session, owner).id, is_owner=True
                )
            )
        session.flush()
        record_change(
            session,
            ctx,
            action="team.create",
            object_id=row.id,
            change={"name": name, "owners": owners},
            reason=reason,
            event="team.created",
        )
        return _team_record(session, row)


def add_member(
    ctx: Context, team: str, principal: str, *, owner: bool = False, reason: str = ""
) -> TeamRecord:
    """Add a principal to a team (or change whether it is an owner).

    Ownership goes only to a principal already in the team, unless a platform-admin (a role
    binding carrying ``team.update`` for the team, not ownership alone) gives it: otherwise
    an owner could hand the team to an outsider, who would then remove the owners.
    """
    with ctx.db.transaction() as session:
        row = team_by_name(session, team)
        ctx.require("team.update", team_id=row.id)
        member = principal_row(session, principal)
        existing = session.get(t.TeamMember, (row.id, member.id))
        if owner and existing is None and not _administers(ctx, row.id):
            raise Forbidden(
                f"{ctx.principal.name} cannot make '{principal}' an owner of team '{team}': "
                f"'{principal}' is not a member of it, and only a platform-admin gives a team "
                "to a principal outside it",
                action="team.update",
                field="principal",
                hint="ask a platform-admin to give the team to someone outside it",
            )
        if existing is None:
            session.add(t.TeamMember(team_id=row.id, principal_id=member.id, is_owner=owner))
        else:
            existing.is_owner = owner
        session.flush()
        record_change(
            session,
            ctx,
            action="team.member.add",
            object_id=row.id,
            change={"team": team, "principal": principal, "owner": owner},
            reason=reason,
            event="team.updated",
        )
        return _team_record(session, row)


def _administers(ctx: Context, team_id: str) -> bool:
    """Whether ``ctx`` may update the team by a role binding, not by owning it alone."""
    if ctx.principal is SYSTEM:
        return True
    bound = tuple(g for g in ctx.grants if g.role != TEAM_OWNER)
    return allows(bound, "team.update", team_id, None)


def remove_member(ctx: Context, team: str, principal: str, *, reason: str = "") -> TeamRecord:
    """Remove a principal from a team."""
    with ctx.db.transaction() as session:
        row = team_by_name(session, team)
        ctx.require("team.update", team_id=row.id)
        member = principal_row(session, principal)
        existing = session.get(t.TeamMember, (row.id, member.id))
        if existing is None:
            raise NotFound(f"'{principal}' is not a member of team '{team}'", field="principal")
        session.delete(existing)
        session.flush()
        record_change(
            session,
            ctx,
            action="team.member.remove",
            object_id=row.id,
            change={"team": team, "principal": principal},
            reason=reason,
            event="team.updated",
        )
        return _team_record(session, row)


def list_teams(ctx: Context) -> list[TeamRecord]:
    """Teams the principal may read, by name."""
    with ctx.db.read() as session:
        ctx.require_somewhere("team.read")
        rows = session.scalars(select(t.Team).order_by(t.Team.name)).all()
        return [_team_record(session, r) for r in rows if ctx.can("team.read", team_id=r.id)]


def get_team(ctx: Context, name: str) -> TeamRecord:
    """One team with its members."""
    with ctx.db.read() as session:
        row = team_by_name(session, name)
        ctx.require("team.read", team_id=row.id)
        return _team_record(session, row)
