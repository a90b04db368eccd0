"""The andon cord of one endpoint: while pulled, the gateway serves none of its traffic.

Same rules as the other cords (:mod:`andon.policy.cord`): pulling takes ``cord.pull``,
releasing ``cord.release``, both on the endpoint's team or asset, with a reason, audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.policy.records import CordRecord
from andon.serve.cord_state import set_cord, team_name
from andon.serve.endpoints import endpoint_row
from andon.store.tables import serve as s


def _set(ctx: Context, name: str, *, pull: bool, reason: str) -> CordRecord:
    verb = "pull" if pull else "release"
    reason = reason.strip()
    if not reason:
        raise Invalid(f"say why you {verb} the cord", field="reason")
    with ctx.db.transaction() as session:
        endpoint = endpoint_row(session, name)
        ctx.require(f"cord.{verb}", team_id=endpoint.team_id, asset_id=endpoint.asset_id)
        return set_cord(session, ctx, endpoint, pull=pull, reason=reason)


def pull_endpoint_cord(ctx: Context, name: str, *, reason: str) -> CordRecord:
    """Pull endpoint ``name``'s cord: every gateway worker refuses its traffic within a second."""
    return _set(ctx, name, pull=True, reason=reason)


def release_endpoint_cord(ctx: Context, name: str, *, reason: str) -> CordRecord:
    """Release endpoint ``name``'s cord: the gateway serves it again."""
    return _set(ctx, name, pull=False, reason=reason)


def endpoint_cords(ctx: Context) -> list[CordRecord]:
    """Every endpoint cord ever pulled that the principal may read."""
    with ctx.db.read() as session:
        ctx.require_somewhere("endpoint.read")
        rows = session.execute(
            select(s.EndpointCord, s.Endpoint).join(
                s.Endpoint, s.Endpoint.id == s.EndpointCord.endpoint_id
            )
        ).all()
        return [
            CordRecord(
                "endpoint",
                endpoint.name,
                team_name(session, endpoint.team_id),
                cord.pulled,
                cord.reason,
                cord.changed_by,
                as_utc(cord.changed_at),
            )
            for cord, endpoint in rows
            if ctx.can("endpoint.read", team_id=endpoint.team_id, asset_id=endpoint.asset_id)
        ]


def pulled_endpoints(session: Session) -> dict[str, tuple[str, datetime, str]]:
    """Endpoint name -> ``(by, at, reason)`` of each pulled endpoint cord (the gateway)."""
    return {
        name: (cord.changed_by, as_utc(cord.changed_at), cord.reason)
        for cord, name in session.execute(
            select(s.EndpointCord, s.Endpoint.name)
            .join(s.Endpoint, s.Endpoint.id == s.EndpointCord.endpoint_id)
            .where(s.EndpointCord.pulled.is_(True))
        )
    }
