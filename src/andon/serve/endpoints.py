"""Gateway endpoints: apply (YAML, every problem at once), list, show.

An endpoint belongs to a team and registers as one of its assets (kind ``endpoint``), so
bindings on the asset scope who may call it. Each apply of changed content is the next
version, audited with its digest and checked spec; unchanged content changes nothing. Applying
a model endpoint whose alias is set (or that now names another model or alias) also records
the deployment it starts serving (:mod:`andon.serve.deployments`).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.auth.queries import team_by_name
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.serve.deployment_log import record_deployments
from andon.serve.records import EndpointRecord
from andon.serve.spec import parse_endpoint
from andon.store.tables import auth as t
from andon.store.tables import serve as s

MAX_ENDPOINT = 100_000


def endpoint_row(session: Session, name: str) -> s.Endpoint:
    """The endpoint ``name``; NotFound naming the field otherwise."""
    row = session.scalar(select(s.Endpoint).where(s.Endpoint.name == name))
    if row is None:
        raise NotFound(
            f"no endpoint '{name}'", field="endpoint", hint="list them with `andon endpoint list`"
        )
    return row


def endpoint_record(session: Session, row: s.Endpoint, *, changed: bool = True) -> EndpointRecord:
    """The record of a stored endpoint."""
    team = str(session.scalar(select(t.Team.name).where(t.Team.id == row.team_id)))
    return EndpointRecord(
        id=row.id,
        name=row.name,
        team=team,
        kind=row.kind,
        version=row.version,
        spec=dict(row.spec),
        digest=row.digest,
        applied_by=row.applied_by,
        applied_at=as_utc(row.applied_at),
        changed=changed,
    )


def _asset(session: Session, ctx: Context, team_id: str, name: str) -> t.Asset:
    asset = session.scalar(
        select(t.Asset).where(
            t.Asset.team_id == team_id, t.Asset.kind == "endpoint", t.Asset.name == name
        )
    )
    if asset is None:  # an asset registered by hand first is adopted
        asset = t.Asset(
            id=new_id("asset"),
            kind="endpoint",
            name=name,
            team_id=team_id,
            created_at=ctx.clock.now(),
        )
        session.add(asset)
        session.flush()
    return asset


def apply_endpoint(ctx: Context, content: str, *, reason: str = "") -> EndpointRecord:
    """Check and store an endpoint (YAML) as the next version of the endpoint it names."""
    if len(content) > MAX_ENDPOINT:
        raise Invalid(f"is {len(content)} characters; at most {MAX_ENDPOINT}", field="endpoint")
    spec = parse_endpoint(content)
    stored = spec.as_dict()
    digest = hashlib.sha256(content.encode()).hexdigest()
    with ctx.db.transaction() as session:
        team = team_by_name(session, spec.team)
        ctx.require("endpoint.apply", team_id=team.id)
        row = session.scalar(select(s.Endpoint).where(s.Endpoint.name == spec.name))
        if row is not None and row.team_id != team.id:
            owner = str(session.scalar(select(t.Team.name).where(t.Team.id == row.team_id)))
            raise Conflict(f"endpoint '{spec.name}' belongs to team '{owner}'", field="name")
        if row is not None and row.digest == digest:
            return endpoint_record(session, row, changed=False)
        if row is not None and row.kind != spec.kind:
            raise Conflict(
                f"endpoint '{spec.name}' is a {row.kind} endpoint; a new name serves {spec.kind}",
                field="kind",
            )
        now = ctx.clock.now()
        try:
            with session.begin_nested():
                if row is None:
                    asset = _asset(session, ctx, team.id, spec.name)
                    row = s.Endpoint(
                        id=new_id("endpoint"),
                        name=spec.name,
                        team_id=team.id,
                        asset_id=asset.id,
                        kind=spec.kind,
                        version=0,
                    )
                    session.add(row)
                row.version += 1
                row.spec, row.content, row.digest = stored, content, digest
                row.applied_by, row.applied_at = ctx.principal.name, now
                session.flush()
        except IntegrityError:
            raise Conflict(f"endpoint '{spec.name}' was applied concurrently; retry") from None
        if row.kind == "model":  # serving starts now if the alias is set: its first deployment
            record_deployments(session, ctx, [row], reason=reason)
        record_change(
            session,
            ctx,
            action="endpoint.apply",
            object_id=row.id,
            change={
                "name": spec.name,
                "team": spec.team,
                "version": row.version,
                "digest": digest,
                "spec": stored,
            },
            reason=reason,
            event="endpoint.applied",
        )
        return endpoint_record(session, row)


def get_endpoint(ctx: Context, name: str) -> EndpointRecord:
    """The endpoint ``name`` as last applied."""
    with ctx.db.read() as session:
        row = endpoint_row(session, name)
        ctx.require("endpoint.read", team_id=row.team_id, asset_id=row.asset_id)
        return endpoint_record(session, row)


def list_endpoints(ctx: Context, team: str | None = None) -> list[EndpointRecord]:
    """Endpoints the principal may read, optionally of one team, by name."""
    with ctx.db.read() as session:
        ctx.require_somewhere("endpoint.read")
        stmt = select(s.Endpoint).order_by(s.Endpoint.name)
        if team:
            stmt = stmt.where(s.Endpoint.team_id == team_by_name(session, team).id)
        return [
            endpoint_record(session, row)
            for row in session.scalars(stmt)
            if ctx.can("endpoint.read", team_id=row.team_id, asset_id=row.asset_id)
        ]
