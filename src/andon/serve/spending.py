"""Reading the budget ledger: each budget's current window, and the board's light."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.auth.queries import team_by_name
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.serve.budgets import window_of
from andon.serve.endpoints import endpoint_row
from andon.serve.records import BudgetRecord
from andon.store.tables import auth as t
from andon.store.tables import serve as s


def _current(
    session: Session, now: datetime, endpoints: list[s.Endpoint]
) -> Iterator[tuple[s.Endpoint, s.BudgetWindow]]:
    """Each endpoint's windows of now (one per budget, key and period), by scope and key."""
    by_name = {e.name: e for e in endpoints}
    if not by_name:
        return
    labels = {period: window_of(period, now)[0] for period in ("day", "month")}
    rows = session.scalars(
        select(s.BudgetWindow)
        .where(s.BudgetWindow.endpoint.in_(list(by_name)))
        .order_by(
            s.BudgetWindow.endpoint,
            s.BudgetWindow.scope,
            s.BudgetWindow.key,
            s.BudgetWindow.period,
        )
    )
    for row in rows:
        if labels.get(row.period) == row.window:
            yield by_name[row.endpoint], row


def _record(team: str, row: s.BudgetWindow) -> BudgetRecord:
    used = row.spent_nanos + row.reserved_nanos
    start = as_utc(row.window_start)
    return BudgetRecord(
        endpoint=row.endpoint,
        team=team,
        scope=row.scope,
        key=row.key,
        period=row.period,
        window_start=start,
        limit_nanos=row.limit_nanos,
        spent_nanos=row.spent_nanos,
        reserved_nanos=row.reserved_nanos,
        left_nanos=max(0, row.limit_nanos - used),
        resets_at=window_of(row.period, start)[2],
        percent=round(100 * used / row.limit_nanos, 1) if row.limit_nanos else 100.0,
    )


def budget_status(
    ctx: Context, endpoint: str | None = None, team: str | None = None
) -> list[BudgetRecord]:
    """The current window of every budget the principal may read (``endpoint.read`` on the
    endpoint's team or asset), optionally of one endpoint or of one team's endpoints."""
    with ctx.db.read() as session:
        if endpoint is not None:
            row = endpoint_row(session, endpoint)
            ctx.require("endpoint.read", team_id=row.team_id, asset_id=row.asset_id)
            endpoints = [row]
        else:
            ctx.require_somewhere("endpoint.read")
            stmt = select(s.Endpoint)
            if team:
                stmt = stmt.where(s.Endpoint.team_id == team_by_name(session, team).id)
            endpoints = [
                e
                for e in session.scalars(stmt)
                if ctx.can("endpoint.read", team_id=e.team_id, asset_id=e.asset_id)
            ]
        if team and endpoint is not None:
            endpoints = [e for e in endpoints if e.team_id == team_by_name(session, team).id]
        teams = {tid: name for tid, name in session.execute(select(t.Team.id, t.Team.name))}
        return [
            _record(teams[e.team_id], row)
            for e, row in _current(session, ctx.clock.now(), endpoints)
        ]


def current_windows(session: Session, now: datetime) -> list[BudgetRecord]:
    """Every endpoint's current budget windows, unchecked (the board's light)."""
    endpoints = list(session.scalars(select(s.Endpoint)))
    teams = {tid: name for tid, name in session.execute(select(t.Team.id, t.Team.name))}
    return [_record(teams[e.team_id], row) for e, row in _current(session, now, endpoints)]
