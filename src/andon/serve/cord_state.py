"""Setting an endpoint's cord inside a transaction: what :mod:`andon.serve.cords` (a person
pulling or releasing) and :mod:`andon.serve.violations` (the guards' jidoka) share. No
permission check here: each caller checks its own action first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.context import Context
from andon.core.errors import Conflict
from andon.policy.records import CordRecord
from andon.store.tables import auth as t
from andon.store.tables import serve as s


def team_name(session: Session, team_id: str) -> str:
    """The name of team ``team_id``."""
    return str(session.scalar(select(t.Team.name).where(t.Team.id == team_id)))


def set_cord(
    session: Session,
    ctx: Context,
    endpoint: s.Endpoint,
    *,
    pull: bool,
    reason: str,
    why: dict[str, object] | None = None,
) -> CordRecord:
    """Pull or release ``endpoint``'s cord inside the caller's transaction, audited as
    ``cord.pull``/``cord.release`` (the caller checked the permission). ``why`` joins the
    audited change (the guards' jidoka records the violations that tripped it)."""
    verb = "pull" if pull else "release"
    name = endpoint.name
    cord = session.get(s.EndpointCord, endpoint.id)
    if (cord is not None and cord.pulled) is pull:
        state = "pulled" if pull else "not pulled"
        raise Conflict(f"the andon cord of endpoint '{name}' is already {state}")
    now = ctx.clock.now()
    if cord is None:
        cord = s.EndpointCord(endpoint_id=endpoint.id)
        session.add(cord)
    cord.pulled, cord.reason, cord.changed_by, cord.changed_at = (
        pull,
        reason,
        ctx.principal.name,
        now,
    )
    session.flush()
    team = team_name(session, endpoint.team_id)
    record_change(
        session,
        ctx,
        action=f"cord.{verb}",
        object_id=endpoint.id,
        change={"scope": "endpoint", "endpoint": name, "team": team, "pulled": pull, **(why or {})},
        reason=reason,
        event="andon.pulled" if pull else "andon.released",
    )
    return CordRecord("endpoint", name, team, pull, reason, ctx.principal.name, now)
