"""Identity, teams, roles, tokens, on-call and escalation: the only door for their state.

Every function that changes state takes a :class:`Context` first and, in one transaction,
checks the permission, makes the change, appends the audit entry and writes the outbox event.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.audit.chain import record_change
from andon.auth import tokens
from andon.auth.oncall import check_period, parse_day, parse_handoff, parse_timezone, shift_at
from andon.auth.records import (
    AssetRecord,
    BindingRecord,
    MemberRecord,
    OnCallRecord,
    PrincipalRecord,
    RotationRecord,
    RungRecord,
    TeamRecord,
    TokenRecord,
)
from andon.core.clock import Clock, SystemClock, as_utc
from andon.core.config import Settings
from andon.core.context import SYSTEM, Context, Database
from andon.core.context import Principal as Actor
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from andon.core.ids import new_id
from andon.core.permissions import ROLES, TEAM_OWNER, Grant, allows
from andon.store import tables as t
from andon.store.lookups import team_by_name as _team

PRINCIPAL_KINDS = ("user", "service", "agent")
ESCALATION_LEVELS = ("model-owner", "platform-owner", "risk-owner")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")
_TEAM = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_RESERVED_NAMES = frozenset({SYSTEM.name})


# --------------------------------------------------------------------------- helpers


def _check_name(value: str, field: str, pattern: re.Pattern[str] = _NAME) -> str:
    if not pattern.match(value):
        raise Invalid(
            f"'{value}' must start with a lowercase letter or digit and use only "
            f"{'a-z 0-9 _ -' if pattern is _TEAM else 'a-z 0-9 . _ @ -'}",
            field=field,
        )
    return value


def _check_principal_name(value: str, field: str) -> str:
    _check_name(value, field)
    if value in _RESERVED_NAMES:
        # The audit log's "system" actor must always be the platform itself.
        raise Invalid(f"'{value}' is reserved", field=field)
    return value


def _principal(session: Session, name: str) -> t.Principal:
    row = session.scalar(select(t.Principal).where(t.Principal.name == name))
    if row is None:
        raise NotFound(f"no principal named '{name}'", field="principal")
    return row


def _principal_record(row: t.Principal) -> PrincipalRecord:
    return PrincipalRecord(
        row.id,
        row.name,
        row.kind,
        row.display_name,
        row.email,
        row.disabled,
        as_utc(row.created_at),
    )


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


def _token_record(row: t.ApiToken, principal: str) -> TokenRecord:
    return TokenRecord(
        row.id,
        principal,
        row.name,
        as_utc(row.created_at),
        as_utc(row.expires_at) if row.expires_at else None,
        as_utc(row.revoked_at) if row.revoked_at else None,
    )


def _grants(session: Session, principal_id: str) -> tuple[Grant, ...]:
    """The principal's role bindings, plus the implicit ``team-owner`` of each team it owns."""
    rows = session.execute(
        select(t.RoleBinding.role, t.RoleBinding.scope, t.RoleBinding.scope_id)
        .where(t.RoleBinding.principal_id == principal_id)
        .order_by(t.RoleBinding.created_at, t.RoleBinding.id)
    ).all()
    owned = session.scalars(
        select(t.TeamMember.team_id)
        .where(t.TeamMember.principal_id == principal_id, t.TeamMember.is_owner.is_(True))
        .order_by(t.TeamMember.team_id)
    ).all()
    bound = tuple(Grant(role, scope, scope_id or None) for role, scope, scope_id in rows)  # type: ignore[arg-type]
    return bound + tuple(Grant(TEAM_OWNER, "team", team_id) for team_id in owned)


def _enabled_global_admins(session: Session) -> set[str]:
    """Ids of enabled principals bound ``platform-admin`` globally.

    Locks those rows (PostgreSQL; SQLite writers are serialised anyway), so two admins
    disabling or unbinding each other at once cannot both pass the check.
    """
    return set(
        session.scalars(
            select(t.RoleBinding.principal_id)
            .join(t.Principal, t.Principal.id == t.RoleBinding.principal_id)
            .where(
                t.RoleBinding.role == "platform-admin",
                t.RoleBinding.scope == "global",
                t.Principal.disabled.is_(False),
            )
            .with_for_update()
        )
    )


def _keep_an_admin(session: Session, principal_id: str, what: str) -> None:
    """Refuse a change that would leave no enabled global platform-admin."""
    if _enabled_global_admins(session) == {principal_id}:
        raise Conflict(
            f"{what} would leave no enabled global platform-admin: bind another one first"
        )


def _flush_unique(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{what} already exists") from None


# --------------------------------------------------------------------------- contexts


def context_for(
    db: Database, settings: Settings, principal: str, clock: Clock | None = None
) -> Context:
    """A context acting as the named principal (the local CLI's way in)."""
    with db.read() as session:
        row = session.scalar(select(t.Principal).where(t.Principal.name == principal))
        if row is None:
            raise Unauthenticated(
                f"no principal named '{principal}': set ANDON_PRINCIPAL to an existing one, "
                "or run `andon init` to create the first admin",
                field="ANDON_PRINCIPAL",
            )
        if row.disabled:
            raise Unauthenticated(f"principal '{principal}' is disabled")
        grants = _grants(session, row.id)
        actor = Actor(row.id, row.name, row.kind)
    return Context(
        db=db, settings=settings, principal=actor, grants=grants, clock=clock or SystemClock()
    )


def authenticate(
    db: Database, settings: Settings, bearer: str, clock: Clock | None = None
) -> Context:
    """The context for an ``Authorization: Bearer`` token, or :class:`Unauthenticated`."""
    clock = clock or SystemClock()
    if not tokens.is_well_formed(bearer):
        raise Unauthenticated("malformed token: expected andon_ followed by 43 characters")
    with db.read() as session:
        row = session.execute(
            select(t.ApiToken, t.Principal)
            .join(t.Principal, t.Principal.id == t.ApiToken.principal_id)
            .where(t.ApiToken.token_hash == tokens.hash_token(bearer))
        ).one_or_none()
        if row is None:
            raise Unauthenticated("unknown token")
        token, principal = row
        if token.revoked_at is not None:
            raise Unauthenticated(f"token {token.id} was revoked")
        if token.expires_at is not None and as_utc(token.expires_at) <= clock.now():
            raise Unauthenticated(f"token {token.id} expired")
        if principal.disabled:
            raise Unauthenticated(f"principal '{principal.name}' is disabled")
        grants = _grants(session, principal.id)
        actor = Actor(principal.id, principal.name, principal.kind)
    return Context(db=db, settings=settings, principal=actor, grants=grants, clock=clock)


def bootstrap(db: Database, settings: Settings, admin: str, clock: Clock | None = None) -> bool:
    """Create the first principal as a global platform-admin; no-op once any principal exists.

    Returns whether the admin was created. This is the only change not made by a principal:
    it is audited as ``system``.
    """
    ctx = Context(db=db, settings=settings, principal=SYSTEM, clock=clock or SystemClock())
    _check_principal_name(admin, "principal")
    with db.transaction() as session:
        if session.scalar(select(t.Principal.id).limit(1)) is not None:
            return False
        now = ctx.clock.now()
        pid = new_id("principal")
        session.add(
            t.Principal(
                id=pid, name=admin, kind="user", display_name="", disabled=False, created_at=now
            )
        )
        session.add(
            t.RoleBinding(
                id=new_id("binding"),
                principal_id=pid,
                role="platform-admin",
                scope="global",
                scope_id="",
                created_at=now,
            )
        )
        session.flush()
        record_change(
            session,
            ctx,
            action="principal.bootstrap",
            object_id=pid,
            change={"name": admin, "role": "platform-admin", "scope": "global"},
            reason="first administrator",
            event="principal.created",
        )
    return True


# --------------------------------------------------------------------------- principals


def create_principal(
    ctx: Context,
    name: str,
    *,
    kind: str = "user",
    display_name: str = "",
    email: str | None = None,
    reason: str = "",
) -> PrincipalRecord:
    """Create a user, service or agent principal."""
    _check_principal_name(name, "name")
    if kind not in PRINCIPAL_KINDS:
        raise Invalid(f"'{kind}' is not one of {', '.join(PRINCIPAL_KINDS)}", field="kind")
    if email is not None and "@" not in email:
        raise Invalid(f"'{email}' is not an email address", field="email")
    with ctx.db.transaction() as session:
        ctx.require("principal.create")
        row = t.Principal(
            id=new_id("principal"),
            name=name,
            kind=kind,
            display_name=display_name,
            email=email,
            disabled=False,
            created_at=ctx.clock.now(),
        )
        session.add(row)
        _flush_unique(session, f"principal '{name}'")
        record_change(
            session,
            ctx,
            action="principal.create",
            object_id=row.id,
            change={"name": name, "kind": kind},
            reason=reason,
            event="principal.created",
        )
        return _principal_record(row)


def disable_principal(ctx: Context, name: str, *, reason: str = "") -> PrincipalRecord:
    """Disable a principal: its tokens stop working at once.

    Refused (:class:`Conflict`) for the last enabled global platform-admin.
    """
    with ctx.db.transaction() as session:
        ctx.require("principal.disable")
        row = _principal(session, name)
        if row.disabled:
            raise Conflict(f"principal '{name}' is already disabled")
        _keep_an_admin(session, row.id, f"disabling '{name}'")
        row.disabled = True
        record_change(
            session,
            ctx,
            action="principal.disable",
            object_id=row.id,
            change={"name": name, "disabled": True},
            reason=reason,
            event="principal.disabled",
        )
        return _principal_record(row)


def list_principals(ctx: Context) -> list[PrincipalRecord]:
    """Every principal, by name."""
    with ctx.db.read() as session:
        ctx.require("principal.read")
        rows = session.scalars(select(t.Principal).order_by(t.Principal.name))
        return [_principal_record(r) for r in rows]


def whoami(ctx: Context) -> dict[str, object]:
    """The acting principal and its grants."""
    return {
        "id": ctx.principal.id,
        "name": ctx.principal.name,
        "kind": ctx.principal.kind,
        "grants": [{"role": g.role, "scope": g.scope, "scope_id": g.scope_id} for g in ctx.grants],
    }


# --------------------------------------------------------------------------- teams


def create_team(
    ctx: Context,
    name: str,
    *,
    description: str = "",
    owners: list[str] | None = None,
    reason: str = "",
) -> TeamRecord:
    """Create a team, optionally with its first owners."""
    _check_name(name, "name", _TEAM)
    owners = sorted(set(owners or []))
    with ctx.db.transaction() as session:
        ctx.require("team.create")
        row = t.Team(
            id=new_id("team"), name=name, description=description, created_at=ctx.clock.now()
        )
        session.add(row)
        _flush_unique(session, f"team '{name}'")
        for owner in owners:
            session.add(
                t.TeamMember(
                    team_id=row.id, principal_id=_principal(session, owner).id, is_owner=True
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
        row = _team(session, team)
        ctx.require("team.update", team_id=row.id)
        member = _principal(session, principal)
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
        row = _team(session, team)
        ctx.require("team.update", team_id=row.id)
        member = _principal(session, principal)
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
        row = _team(session, name)
        ctx.require("team.read", team_id=row.id)
        return _team_record(session, row)


# --------------------------------------------------------------------------- on-call


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
    _check_name(name, "name", _TEAM)
    parse_timezone(timezone)
    parse_handoff(handoff)
    parse_day(starts_on)
    if not members:
        raise Invalid("a rotation needs at least one member", field="members")
    check_period(period_hours)
    with ctx.db.transaction() as session:
        team_row = _team(session, team)
        ctx.require("team.oncall", team_id=team_row.id)
        for member in members:
            _principal(session, member)
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
        team_row = _team(session, team)
        ctx.require("team.read", team_id=team_row.id)
        stmt = select(t.Rotation).where(t.Rotation.team_id == team_row.id)
        if rotation:
            stmt = stmt.where(t.Rotation.name == rotation)
        row = session.scalars(stmt.order_by(t.Rotation.name)).first()
        if row is None:
            raise NotFound(
                f"team '{team}' has no on-call rotation"
                + (f" named '{rotation}'" if rotation else "")
                + ": add one with `andon team rotation`",
                field="rotation",
            )
        return _shift(session, row, team, at)


def list_rotations(ctx: Context, team: str) -> list[RotationRecord]:
    """A team's rotations."""
    with ctx.db.read() as session:
        team_row = _team(session, team)
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
        team_row = _team(session, team)
        ctx.require("team.escalation", team_id=team_row.id)
        principal_id = _principal(session, principal).id if principal else None
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
        team_row = _team(session, team)
        ctx.require("team.read", team_id=team_row.id)
        return _ladder(session, team_row, at)


# --------------------------------------------------------------------------- assets


def register_asset(
    ctx: Context, kind: str, name: str, team: str, *, reason: str = ""
) -> AssetRecord:
    """Register something a team owns (datasets, models and endpoints use this)."""
    _check_name(kind, "kind", _TEAM)
    if not name or len(name) > 200:
        raise Invalid("must be 1 to 200 characters", field="name")
    with ctx.db.transaction() as session:
        team_row = _team(session, team)
        ctx.require("asset.register", team_id=team_row.id)
        row = t.Asset(
            id=new_id("asset"),
            kind=kind,
            name=name,
            team_id=team_row.id,
            created_at=ctx.clock.now(),
        )
        session.add(row)
        _flush_unique(session, f"{kind} '{name}' in team '{team}'")
        record_change(
            session,
            ctx,
            action="asset.register",
            object_id=row.id,
            change={"kind": kind, "name": name, "team": team},
            reason=reason,
            event="asset.registered",
        )
        return AssetRecord(row.id, kind, name, team, as_utc(row.created_at))


def list_assets(ctx: Context, team: str | None = None) -> list[AssetRecord]:
    """Assets the principal may read, optionally of one team."""
    with ctx.db.read() as session:
        ctx.require_somewhere("asset.read")
        stmt = select(t.Asset, t.Team.name).join(t.Team, t.Team.id == t.Asset.team_id)
        if team:
            stmt = stmt.where(t.Team.id == _team(session, team).id)
        rows = session.execute(stmt.order_by(t.Team.name, t.Asset.kind, t.Asset.name)).all()
        return [
            AssetRecord(a.id, a.kind, a.name, team_name, as_utc(a.created_at))
            for a, team_name in rows
            if ctx.can("asset.read", team_id=a.team_id, asset_id=a.id)
        ]


# --------------------------------------------------------------------------- role bindings

Scope = Literal["global", "team", "asset"]


def _resolve_scope(
    session: Session, scope: str, target: str | None
) -> tuple[str, str | None, str | None]:
    """Return (scope_id, team_id for the permission check, asset_id)."""
    if scope not in ("global", "team", "asset"):
        raise Invalid(f"'{scope}' is not one of global, team, asset", field="scope")
    if scope == "global":
        if target:
            raise Invalid("a global binding takes no target", field="target")
        return "", None, None
    if not target:
        raise Invalid(f"a {scope} binding needs a target", field="target")
    if scope == "team":
        team_row = _team(session, target)
        return team_row.id, team_row.id, None
    asset = session.get(t.Asset, target)
    if asset is None:
        raise NotFound(f"no asset with id '{target}'", field="target")
    return asset.id, asset.team_id, asset.id


def bind_role(
    ctx: Context,
    principal: str,
    role: str,
    *,
    scope: str = "global",
    target: str | None = None,
    reason: str = "",
) -> BindingRecord:
    """Grant ``role`` to ``principal`` everywhere, in one team, or on one asset.

    Granting at a scope needs ``binding.create`` at that scope, so a team-scoped admin cannot
    grant anything beyond its team; and nobody may bind a role to themselves.
    """
    if role not in ROLES:
        raise Invalid(f"'{role}' is not one of {', '.join(ROLES)}", field="role")
    with ctx.db.transaction() as session:
        scope_id, team_id, asset_id = _resolve_scope(session, scope, target)
        ctx.require("binding.create", team_id=team_id, asset_id=asset_id)
        who = _principal(session, principal)
        if who.id == ctx.principal.id:
            raise Forbidden(
                f"{ctx.principal.name} may not bind a role to themselves: ask another admin",
                action="binding.create",
            )
        row = t.RoleBinding(
            id=new_id("binding"),
            principal_id=who.id,
            role=role,
            scope=scope,
            scope_id=scope_id,
            created_at=ctx.clock.now(),
        )
        session.add(row)
        _flush_unique(session, f"binding of {role} to '{principal}' at that scope")
        record_change(
            session,
            ctx,
            action="binding.create",
            object_id=row.id,
            change={"principal": principal, "role": role, "scope": scope, "target": target},
            reason=reason,
            event="binding.created",
        )
        return _binding_record(session, row, who.name)


def unbind_role(ctx: Context, binding_id: str, *, reason: str = "") -> BindingRecord:
    """Remove a role binding (not the last enabled global platform-admin's)."""
    with ctx.db.transaction() as session:
        row = session.get(t.RoleBinding, binding_id)
        if row is None:
            raise NotFound(f"no role binding with id '{binding_id}'", field="binding")
        team_id, asset_id = _binding_team_asset(session, row)
        ctx.require("binding.delete", team_id=team_id, asset_id=asset_id)
        who = session.get(t.Principal, row.principal_id)
        assert who is not None
        if row.role == "platform-admin" and row.scope == "global":
            _keep_an_admin(session, who.id, f"removing {who.name}'s global platform-admin")
        record = _binding_record(session, row, who.name)
        session.delete(row)
        record_change(
            session,
            ctx,
            action="binding.delete",
            object_id=binding_id,
            change={
                "principal": who.name,
                "role": row.role,
                "scope": row.scope,
                "scope_id": row.scope_id,
            },
            reason=reason,
            event="binding.deleted",
        )
        return record


def _binding_team_asset(session: Session, row: t.RoleBinding) -> tuple[str | None, str | None]:
    if row.scope == "team":
        return row.scope_id, None
    if row.scope == "asset":
        asset = session.get(t.Asset, row.scope_id)
        return (asset.team_id if asset else None), row.scope_id
    return None, None


def _binding_record(session: Session, row: t.RoleBinding, principal: str) -> BindingRecord:
    scope_name = None
    if row.scope == "team":
        team_row = session.get(t.Team, row.scope_id)
        scope_name = team_row.name if team_row else None
    elif row.scope == "asset":
        asset = session.get(t.Asset, row.scope_id)
        scope_name = f"{asset.kind}/{asset.name}" if asset else None
    return BindingRecord(
        row.id,
        principal,
        row.role,
        row.scope,
        row.scope_id or None,
        scope_name,
        as_utc(row.created_at),
    )


def list_bindings(ctx: Context, principal: str | None = None) -> list[BindingRecord]:
    """Role bindings the principal may read, optionally for one principal."""
    with ctx.db.read() as session:
        ctx.require_somewhere("binding.read")
        stmt = select(t.RoleBinding, t.Principal.name).join(
            t.Principal, t.Principal.id == t.RoleBinding.principal_id
        )
        if principal:
            stmt = stmt.where(t.Principal.id == _principal(session, principal).id)
        out = []
        for row, name in session.execute(stmt.order_by(t.Principal.name, t.RoleBinding.role)).all():
            team_id, asset_id = _binding_team_asset(session, row)
            if ctx.can("binding.read", team_id=team_id, asset_id=asset_id):
                out.append(_binding_record(session, row, name))
        return out


# --------------------------------------------------------------------------- tokens


def create_token(
    ctx: Context,
    principal: str,
    *,
    name: str = "",
    expires_in_days: int | None = None,
    reason: str = "",
) -> tuple[TokenRecord, str]:
    """Issue an API token; returns the record and the secret, which is never stored or shown again.

    Anyone may issue a token for themselves; issuing for another principal needs ``token.create``.
    """
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise Invalid("must be between 1 and 3650 days", field="expires_in_days")
    if len(name) > 100:
        raise Invalid("must be at most 100 characters", field="name")
    with ctx.db.transaction() as session:
        if principal != ctx.principal.name:
            ctx.require("token.create")
        who = _principal(session, principal)
        if who.disabled:
            raise Conflict(f"principal '{principal}' is disabled")
        secret = tokens.generate()
        now = ctx.clock.now()
        row = t.ApiToken(
            id=new_id("token"),
            principal_id=who.id,
            name=name,
            token_hash=tokens.hash_token(secret),
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        session.add(row)
        session.flush()
        record_change(
            session,
            ctx,
            action="token.create",
            object_id=row.id,
            change={"principal": principal, "name": name, "expires_in_days": expires_in_days},
            reason=reason,
            event="token.created",
        )
        return _token_record(row, who.name), secret


def revoke_token(ctx: Context, token_id: str, *, reason: str = "") -> TokenRecord:
    """Revoke a token at once; one's own tokens need no extra permission."""
    with ctx.db.transaction() as session:
        row = session.get(t.ApiToken, token_id)
        if row is None:
            raise NotFound(f"no token with id '{token_id}'", field="token")
        if row.principal_id != ctx.principal.id:
            ctx.require("token.revoke")
        if row.revoked_at is not None:
            raise Conflict(f"token {token_id} is already revoked")
        row.revoked_at = ctx.clock.now()
        who = session.get(t.Principal, row.principal_id)
        assert who is not None
        record_change(
            session,
            ctx,
            action="token.revoke",
            object_id=row.id,
            change={"principal": who.name},
            reason=reason,
            event="token.revoked",
        )
        return _token_record(row, who.name)


def list_tokens(ctx: Context, principal: str | None = None) -> list[TokenRecord]:
    """Token metadata (never secrets): one's own, or anyone's with ``principal.read``."""
    with ctx.db.read() as session:
        target = principal or ctx.principal.name
        if target != ctx.principal.name:
            ctx.require("principal.read")
        who = _principal(session, target)
        rows = session.scalars(
            select(t.ApiToken)
            .where(t.ApiToken.principal_id == who.id)
            .order_by(t.ApiToken.created_at)
        )
        return [_token_record(r, who.name) for r in rows]
