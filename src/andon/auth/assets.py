"""Assets: the things a team owns (datasets, models, endpoints), the target of asset bindings."""

from __future__ import annotations

from sqlalchemy import select

from andon.audit.service import record_change
from andon.auth.queries import TEAM_NAME, check_name, flush_unique, team_by_name
from andon.auth.records import AssetRecord
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.core.ids import new_id
from andon.store.tables import auth as t


def register_asset(
    ctx: Context, kind: str, name: str, team: str, *, reason: str = ""
) -> AssetRecord:
    """Register something a team owns (datasets, models and endpoints use this)."""
    check_name(kind, "kind", TEAM_NAME)
    if not name or len(name) > 200:
        raise Invalid("must be 1 to 200 characters", field="name")
    with ctx.db.transaction() as session:
        team_row = team_by_name(session, team)
        ctx.require("asset.register", team_id=team_row.id)
        row = t.Asset(
            id=new_id("asset"),
            kind=kind,
            name=name,
            team_id=team_row.id,
            created_at=ctx.clock.now(),
        )
        session.add(row)
        flush_unique(session, f"{kind} '{name}' in team '{team}'")
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
            stmt = stmt.where(t.Team.id == team_by_name(session, team).id)
        rows = session.execute(stmt.order_by(t.Team.name, t.Asset.kind, t.Asset.name)).all()
        return [
            AssetRecord(a.id, a.kind, a.name, team_name, as_utc(a.created_at))
            for a, team_name in rows
            if ctx.can("asset.read", team_id=a.team_id, asset_id=a.id)
        ]


# --------------------------------------------------------------------------- role bindings
