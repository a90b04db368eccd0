"""A team's on-call rotations and its escalation ladder, resolved to people at an instant.

The arithmetic of who holds a shift lives in :mod:`andon.auth.oncall`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.auth.oncall import check_period, parse_day, parse_handoff, parse_timezone, shift_at
from andon.auth.queries import TEAM_NAME, check_name, principal_row, team_by_name
from andon.auth.records import OnCallRecord, RotationRecord, RungRecord
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid, NotFound
from andon.core.ids import new_id
from andon.store.tables import auth as t

ESCALATION_LEVELS = ("model-owner", "platform-owner", "risk-owner")


def set_rotation(
    ctx: Context,
    team: str,
    name: str,
    members: list[str],
    *,
    timezone: str = "UTC",
    handoff: str = "09:00",
    period_hours: int = 168,
    starts_on: str,
    reason: str = "",
) -> RotationRecord:
    """Create or replace a team's on-call rotation (ordered members, handoff, timezone)."""
    check_name(name, "name", TEAM_NAME)
    parse_timezone(timezone)
    parse_handoff(handoff)
    parse_day(starts_on)
    if not members:
        raise Invalid("a rotation needs at least one member", field="members")
    check_period(period_hours)
    with ctx.db.transaction() as session:
        team_row = team_by_name(session, team)
        ctx.require("team.oncall", team_id=team_row.id)
        for member in members:
            principal_row(session, member)
        row = session.scalar(
            select(t.Rotation).where(t.Rotation.team_id == team_row.id, t.Rotation.name == name)
        )
        if row is None:
            row = t.Rotation(
                id=new_id("rotation"), team_id=team_row.id, name=name, created_at=ctx.clock.now()
            )
            session.add(row)
        row.members = list(members)
        row.timezone = timezone
        row.handoff = handoff
        row.period_hours = period_hours
        row.starts_on = starts_on
        session.flush()
        record = RotationRecord(
            row.id, team, name, list(members), timezone, handoff, period_hours, starts_on
        )
        record_change(
            session,
            ctx,
            action="team.rotation.set",
            object_id=row.id,
            change=record.as_dict(),
            reason=reason,
            event="team.oncall.changed",
        )
        return record


def _shift(session: Session, rotation: t.Rotation, team: str, at: datetime) -> OnCallRecord:
    shift = shift_at(
        rotation.members,
        rotation.timezone,
        rotation.handoff,
        rotation.period_hours,
        rotation.starts_on,
        at,
    )
    return OnCallRecord(team, rotation.name, shift.member, shift.start, shift.end, at)


def oncall(
    ctx: Context, team: str, *, at: datetime | None = None, rotation: str | None = None
) -> OnCallRecord:
    """Who gets paged for ``team`` at ``at`` (default now)."""
    at = as_utc(at) if at else ctx.clock.now()
    with ctx.db.read() as session:
        team_row = team_by_name(session, team)
        ctx.require("team.read", team_id=team_row.id)
        stmt = select(t.Rotation).where(t.Rotation.team_id == team_row.id)
        if rotation:
            stmt = stmt.where(t.Rotation.name == rotation)
        row = session.scalars(stmt.order_by(t.Rotation.name)).first()
        if row is None:
            raise NotFound(
                f"team '{team}' has no on-call rotation"
                + (f" named '{rotation}'" if rotation else ""),
                field="rotation",
                hint="add one with `andon team rotation`",
            )
        return _shift(session, row, team, at)


def list_rotations(ctx: Context, team: str) -> list[RotationRecord]:
    """A team's rotations."""
    with ctx.db.read() as session:
        team_row = team_by_name(session, team)
        ctx.require("team.read", team_id=team_row.id)
        rows = session.scalars(
            select(t.Rotation).where(t.Rotation.team_id == team_row.id).order_by(t.Rotation.name)
        )
        return [
            RotationRecord(
                r.id,
                team,
                r.name,
                list(r.members),
                r.timezone,
                r.handoff,
                r.period_hours,
                r.starts_on,
            )
            for r in rows
        ]


def set_escalation(
    ctx: Context,
    team: str,
    level: str,
    *,
    principal: str | None = None,
    rotation: str | None = None,
    reason: str = "",
) -> list[RungRecord]:
    """Set one rung of a team's escalation ladder to a principal or one of its rotations."""
    if level not in ESCALATION_LEVELS:
        raise Invalid(f"'{level}' is not one of {', '.join(ESCALATION_LEVELS)}", field="level")
    if (principal is None) == (rotation is None):
        raise Invalid("give exactly one of principal or rotation", field="principal")
    with ctx.db.transaction() as session:
        team_row = team_by_name(session, team)
        ctx.require("team.escalation", team_id=team_row.id)
        principal_id = principal_row(session, principal).id if principal else None
        rotation_id = None
        if rotation:
            rot = session.scalar(
                select(t.Rotation).where(
                    t.Rotation.team_id == team_row.id, t.Rotation.name == rotation
                )
            )
            if rot is None:
                raise NotFound(
                    f"team '{team}' has no rotation named '{rotation}'", field="rotation"
                )
            rotation_id = rot.id
        step = session.get(t.EscalationStep, (team_row.id, level))
        if step is None:
            step = t.EscalationStep(team_id=team_row.id, level=level)
            session.add(step)
        step.principal_id = principal_id
        step.rotation_id = rotation_id
        session.flush()
        record_change(
            session,
            ctx,
            action="team.escalation.set",
            object_id=team_row.id,
            change={"team": team, "level": level, "principal": principal, "rotation": rotation},
            reason=reason,
            event="team.escalation.changed",
        )
        return _ladder(session, team_row, ctx.clock.now())


def _ladder(session: Session, team_row: t.Team, at: datetime) -> list[RungRecord]:
    steps = {
        s.level: s
        for s in session.scalars(
            select(t.EscalationStep).where(t.EscalationStep.team_id == team_row.id)
        )
    }
    rungs = []
    for level in ESCALATION_LEVELS:
        step = steps.get(level)
        if step is None:
            continue
        if step.principal_id:
            who = session.get(t.Principal, step.principal_id)
            assert who is not None
            rungs.append(RungRecord(level, who.name, "principal"))
        elif step.rotation_id:
            rot = session.get(t.Rotation, step.rotation_id)
            assert rot is not None
            rungs.append(
                RungRecord(
                    level, _shift(session, rot, team_row.name, at).principal, f"rotation {rot.name}"
                )
            )
    return rungs


def escalation(ctx: Context, team: str, *, at: datetime | None = None) -> list[RungRecord]:
    """The team's ladder (model owner, platform owner, risk owner), resolved to people at ``at``."""
    at = as_utc(at) if at else ctx.clock.now()
    with ctx.db.read() as session:
        team_row = team_by_name(session, team)
        ctx.require("team.read", team_id=team_row.id)
        return _ladder(session, team_row, at)


# --------------------------------------------------------------------------- assets
