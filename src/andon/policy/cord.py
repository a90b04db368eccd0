"""The andon cord: anyone on the line can stop it; few can restart it.

A cord stops a scope: one model (its promotions, and every endpoint serving it), one team
(every model and endpoint it owns) or ``all`` (the whole line). Endpoint cords live with the
endpoints (:mod:`andon.serve.cords`). Pulling (``cord.pull``) is cheap and safe, so every role
that works on the line carries it; releasing (``cord.release``) restarts the line, so only a
risk-owner or a platform-admin may (see :mod:`andon.core.permissions`), and releasing ``all``
takes two different principals: the first release asks, the second completes it. Every change
takes a reason and is audited; pulling emits ``andon.pulled``. While a cord covers a model,
:func:`andon.policy.promotion.promote` refuses with :class:`Stopped`; a rollback is still
allowed (it is the safe direction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.auth.queries import team_by_name
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, Stopped
from andon.policy.records import CordRecord
from andon.policy.service import team_name
from andon.registry.queries import model_by_ref, parse_ref
from andon.store.tables import policy as p
from andon.store.tables import registry as r

SCOPES = ("model", "team", "all")
ALL = "*"


@dataclass(frozen=True, slots=True)
class PulledCord:
    """A pulled cord, as the gateway and the board read it."""

    scope: str
    target: str
    """Model name, team name, or ``*``."""
    team_id: str
    """The model's or the team's id; ``""`` for ``all``."""
    by: str
    at: datetime
    reason: str


def pulled(session: Session) -> list[PulledCord]:
    """Every pulled model, team and ``all`` cord (no permission check: the gateway, the board)."""
    found = [
        PulledCord("model", name, team_id, cord.changed_by, as_utc(cord.changed_at), cord.reason)
        for cord, name, team_id in session.execute(
            select(p.AndonCord, r.Model.name, r.Model.team_id)
            .join(r.Model, r.Model.id == p.AndonCord.model_id)
            .where(p.AndonCord.pulled.is_(True))
            .order_by(r.Model.name)
        )
    ]
    for line in session.scalars(select(p.LineCord).where(p.LineCord.pulled.is_(True))):
        target = ALL if line.scope == "all" else team_name(session, line.team_id)
        found.append(
            PulledCord(
                line.scope, target, line.team_id, line.changed_by, as_utc(line.changed_at),
                line.reason,
            )
        )  # fmt: skip
    return found


def pulled_cords(session: Session) -> list[tuple[str, str]]:
    """``(what, reason)`` of every pulled model, team and ``all`` cord (the board)."""
    return [
        ("the whole line" if c.scope == "all" else f"{c.scope} {c.target}", c.reason)
        for c in pulled(session)
    ]


def stop_if_pulled(session: Session, model: r.Model) -> None:
    """Raise :class:`Stopped` while a cord covers ``model`` (its own, its team's, or all)."""
    cord = session.get(p.AndonCord, model.id)
    if cord is not None and cord.pulled:
        raise Stopped(
            f"the andon cord of model '{model.name}' is pulled by {cord.changed_by}: {cord.reason}",
            hint=f"release it with `andon cord release {model.name}`",
        )
    for scope, team_id in (("team", model.team_id), ("all", "")):
        line = session.get(p.LineCord, (scope, team_id))
        if line is not None and line.pulled:
            what = "of every team" if scope == "all" else f"of team '{team_name(session, team_id)}'"
            flag = "--all" if scope == "all" else f"--team {team_name(session, team_id)}"
            raise Stopped(
                f"the andon cord {what} is pulled by {line.changed_by}: {line.reason}",
                hint=f"release it with `andon cord release {flag}`",
            )


def _reason(reason: str, verb: str) -> str:
    reason = reason.strip()
    if not reason:
        raise Invalid(f"say why you {verb} the cord", field="reason")
    return reason


def _set_model(ctx: Context, name: str, *, pull: bool, reason: str) -> CordRecord:
    verb = "pull" if pull else "release"
    reason = _reason(reason, verb)
    parsed = parse_ref(name)
    if parsed.version is not None or parsed.alias is not None:
        raise Invalid(f"'{name}' must name a model, not a version", field="model")
    with ctx.db.transaction() as session:
        model = model_by_ref(session, parsed)
        ctx.require(f"cord.{verb}", team_id=model.team_id, asset_id=model.asset_id)
        cord = session.get(p.AndonCord, model.id)
        if (cord is not None and cord.pulled) is pull:
            state = "pulled" if pull else "not pulled"
            raise Conflict(f"the andon cord of model '{model.name}' is already {state}")
        now = ctx.clock.now()
        if cord is None:
            cord = p.AndonCord(model_id=model.id)
            session.add(cord)
        cord.pulled, cord.reason, cord.changed_by, cord.changed_at = (
            pull,
            reason,
            ctx.principal.name,
            now,
        )
        session.flush()
        team = team_name(session, model.team_id)
        record_change(
            session,
            ctx,
            action=f"cord.{verb}",
            object_id=model.id,
            change={"scope": "model", "model": model.name, "team": team, "pulled": pull},
            reason=reason,
            event="andon.pulled" if pull else "andon.released",
        )
        return CordRecord("model", model.name, team, pull, reason, ctx.principal.name, now)


def _set_line(ctx: Context, team: str | None, *, pull: bool, reason: str) -> CordRecord:
    verb = "pull" if pull else "release"
    reason = _reason(reason, verb)
    scope = "all" if team is None else "team"
    with ctx.db.transaction() as session:
        team_id = "" if team is None else team_by_name(session, team).id
        if team is None:
            ctx.require(f"cord.{verb}")
        else:
            ctx.require(f"cord.{verb}", team_id=team_id)
        what = "of every team" if team is None else f"of team '{team}'"
        line = session.get(p.LineCord, (scope, team_id))
        if (line is not None and line.pulled) is pull:
            raise Conflict(f"the andon cord {what} is already {'pulled' if pull else 'not pulled'}")
        now = ctx.clock.now()
        if line is None:
            line = p.LineCord(scope=scope, team_id=team_id)
            session.add(line)
        me = ctx.principal.name
        pending = not pull and scope == "all" and line.release_requested_by in (None, me)
        if pending:
            # Restarting the whole line takes two people: this release only asks for it.
            line.release_requested_by, line.release_reason = me, reason
        else:
            line.pulled, line.reason, line.changed_by, line.changed_at = pull, reason, me, now
            line.release_requested_by = line.release_reason = None
        session.flush()
        record_change(
            session,
            ctx,
            action="cord.release_request" if pending else f"cord.{verb}",
            object_id=f"cord:{scope}:{team or ALL}",
            change={"scope": scope, "team": team, "pulled": line.pulled},
            reason=reason,
            # A request pages nobody by itself, but whoever must complete it has to hear of it.
            event="andon.release_requested"
            if pending
            else ("andon.pulled" if pull else "andon.released"),
        )
        return CordRecord(
            scope,
            team or ALL,
            team,
            line.pulled,
            line.reason,
            line.changed_by,
            as_utc(line.changed_at),
            line.release_requested_by,
        )


def pull_cord(ctx: Context, name: str, *, reason: str) -> CordRecord:
    """Pull the andon cord of model ``name``: its promotions and its endpoints stop."""
    return _set_model(ctx, name, pull=True, reason=reason)


def release_cord(ctx: Context, name: str, *, reason: str) -> CordRecord:
    """Release the andon cord of model ``name``: promotions and serving may resume."""
    return _set_model(ctx, name, pull=False, reason=reason)


def pull_line_cord(ctx: Context, team: str | None, *, reason: str) -> CordRecord:
    """Pull the cord of team ``team`` (None: of every team): its promotions and serving stop."""
    return _set_line(ctx, team, pull=True, reason=reason)


def release_line_cord(ctx: Context, team: str | None, *, reason: str) -> CordRecord:
    """Release the cord of team ``team``; for every team (None) the first release only asks,
    and a second, different principal's release completes it."""
    return _set_line(ctx, team, pull=False, reason=reason)


def cord_status(ctx: Context) -> list[CordRecord]:
    """Every model, team and ``all`` cord ever pulled that the principal may read (pulled
    first)."""
    with ctx.db.read() as session:
        ctx.require_somewhere("model.read")
        rows = session.execute(
            select(p.AndonCord, r.Model.name, r.Model.team_id, r.Model.asset_id).join(
                r.Model, r.Model.id == p.AndonCord.model_id
            )
        ).all()
        out = [
            CordRecord(
                "model",
                name,
                team_name(session, team_id),
                cord.pulled,
                cord.reason,
                cord.changed_by,
                as_utc(cord.changed_at),
            )
            for cord, name, team_id, asset_id in rows
            if ctx.can("model.read", team_id=team_id, asset_id=asset_id)
        ]
        for line in session.scalars(select(p.LineCord)):
            if line.scope == "team" and not ctx.can("model.read", team_id=line.team_id):
                continue
            team = None if line.scope == "all" else team_name(session, line.team_id)
            out.append(
                CordRecord(
                    line.scope,
                    team or ALL,
                    team,
                    line.pulled,
                    line.reason,
                    line.changed_by,
                    as_utc(line.changed_at),
                    line.release_requested_by,
                )
            )
        return sorted(out, key=lambda c: (not c.pulled, SCOPES.index(c.scope), c.target))
