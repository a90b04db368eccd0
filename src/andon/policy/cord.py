"""The andon cord of a model: anyone on the line can stop promotions; few can restart them.

Pulling (``cord.pull``) is cheap and safe, so every role that works on the line carries it;
releasing (``cord.release``) restarts promotions, so only a risk-owner or a platform-admin may
(see :mod:`andon.core.permissions`). Both take a reason and are audited; pulling emits
``andon.pulled``. While pulled, :func:`andon.policy.promotion.promote` refuses with
:class:`Stopped`; a rollback is still allowed (it is the safe direction).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, Stopped
from andon.policy.records import CordRecord
from andon.policy.service import team_name
from andon.registry.queries import model_by_ref, parse_ref
from andon.store.tables import policy as p
from andon.store.tables import registry as r


def stop_if_pulled(session: Session, model: r.Model) -> None:
    """Raise :class:`Stopped` while ``model``'s cord is pulled."""
    cord = session.get(p.AndonCord, model.id)
    if cord is not None and cord.pulled:
        raise Stopped(
            f"the andon cord of model '{model.name}' is pulled by {cord.changed_by}: {cord.reason}",
            hint=f"release it with `andon cord release {model.name}`",
        )


def pulled_cords(session: Session) -> list[tuple[str, str]]:
    """``(model name, reason)`` of every pulled cord (no permission check: the board)."""
    rows = session.execute(
        select(r.Model.name, p.AndonCord.reason)
        .join(r.Model, r.Model.id == p.AndonCord.model_id)
        .where(p.AndonCord.pulled.is_(True))
        .order_by(r.Model.name)
    )
    return [(name, reason) for name, reason in rows]


def _set(ctx: Context, name: str, *, pull: bool, reason: str) -> CordRecord:
    verb = "pull" if pull else "release"
    reason = reason.strip()
    if not reason:
        raise Invalid(f"say why you {verb} the cord", field="reason")
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
            change={"model": model.name, "team": team, "pulled": pull},
            reason=reason,
            event="andon.pulled" if pull else "andon.released",
        )
        return CordRecord(model.name, team, pull, reason, ctx.principal.name, now)


def pull_cord(ctx: Context, name: str, *, reason: str) -> CordRecord:
    """Pull the andon cord of model ``name``: promotions stop until it is released."""
    return _set(ctx, name, pull=True, reason=reason)


def release_cord(ctx: Context, name: str, *, reason: str) -> CordRecord:
    """Release the andon cord of model ``name``: promotions may resume."""
    return _set(ctx, name, pull=False, reason=reason)


def cord_status(ctx: Context) -> list[CordRecord]:
    """Every cord ever pulled on a model the principal may read (pulled first)."""
    with ctx.db.read() as session:
        ctx.require_somewhere("model.read")
        rows = session.execute(
            select(p.AndonCord, r.Model.name, r.Model.team_id, r.Model.asset_id)
            .join(r.Model, r.Model.id == p.AndonCord.model_id)
            .order_by(p.AndonCord.pulled.desc(), r.Model.name)
        ).all()
        return [
            CordRecord(
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
