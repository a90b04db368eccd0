"""The telemetry domain's door: intake, sampling documents, the masking allow-list, queries,
the sampling report and retention.

Intake (:func:`ingest`) is on the hot path of every producer: it checks ``telemetry.write`` on
the team, masks the batch and spools it, and writes **no audit entry per batch** (like the
gateway's metering: telemetry is data, not a decision someone made). What a person decides is
audited: a team's sampling document (``telemetry.sampling``), its allow-list of attributes
stored unmasked (``telemetry.unmask``), and each retention run (``telemetry.retain``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from andon.audit.service import record_change
from andon.auth.queries import team_by_name
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import AndonError, BudgetExceeded, Forbidden, Invalid, NotFound
from andon.core.records import published
from andon.data.sql_guard import SqlLimits
from andon.store.tables import auth as t
from andon.store.tables import telemetry as tt
from andon.telemetry import budgets, cardinality, cold, hot, masking, spool, tags, tiers
from andon.telemetry import query as sql_query
from andon.telemetry.sampling import DEFAULT_DOCUMENT, parse
from andon.telemetry.schema import SCHEMAS

log = logging.getLogger("andon.telemetry")
MAX_UNMASKED = 200


@published
@dataclass(frozen=True)
class TelemetrySettingsRecord:
    """A team's telemetry settings as stored (``sampling`` is ``None`` for the default)."""

    team: str
    sampling: dict[str, Any] | None
    unmasked: tuple[str, ...]
    budget: dict[str, Any] | None
    tags: dict[str, Any] | None
    version: int
    changed_by: str
    changed_at: datetime | None

    @property
    def effective_sampling(self) -> dict[str, Any]:
        """The sampling document in force (the team's, or the default)."""
        return self.sampling if self.sampling is not None else DEFAULT_DOCUMENT

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "team": self.team,
            "sampling": self.effective_sampling,
            "default_sampling": self.sampling is None,
            "unmasked": list(self.unmasked),
            "budget": self.budget,
            "tags": self.tags,
            "version": self.version,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
        }


@published
@dataclass(frozen=True)
class Ingested:
    """What :func:`ingest` spooled (``batch`` is the spool file, empty when nothing was)."""

    team: str
    signal: str
    rows: int
    masked: int
    batch: str


def _record(team: t.Team, row: tt.TelemetrySettings | None) -> TelemetrySettingsRecord:
    if row is None:
        return TelemetrySettingsRecord(team.name, None, (), None, None, 0, "", None)
    return TelemetrySettingsRecord(
        team.name,
        dict(row.sampling) if row.sampling is not None else None,
        tuple(row.unmasked),
        dict(row.budget) if row.budget is not None else None,
        dict(row.tags) if row.tags is not None else None,
        row.version,
        row.changed_by,
        as_utc(row.changed_at),
    )


def telemetry_settings(ctx: Context, team: str) -> TelemetrySettingsRecord:
    """``team``'s sampling document and allow-list."""
    with ctx.db.read() as session:
        row = team_by_name(session, team)
        ctx.require("telemetry.read", team_id=row.id)
        return _record(row, session.get(tt.TelemetrySettings, row.id))


def _change(
    ctx: Context,
    team: str,
    action: str,
    field: str,
    value: Any,
    reason: str,
) -> TelemetrySettingsRecord:
    with ctx.db.transaction() as session:
        team_row = team_by_name(session, team)
        ctx.require(action, team_id=team_row.id)
        row = session.get(tt.TelemetrySettings, team_row.id)
        if row is None:
            row = tt.TelemetrySettings(team_id=team_row.id, sampling=None, unmasked=[], version=0)
            session.add(row)
        before = getattr(row, field)
        if before == value and row.version:
            return _record(team_row, row)
        setattr(row, field, value)
        row.version += 1
        row.changed_by, row.changed_at = ctx.principal.name, ctx.clock.now()
        session.flush()
        record_change(
            session,
            ctx,
            action=action,
            object_id=team_row.id,
            change={"team": team, field: value, "before": before, "version": row.version},
            reason=reason,
            event=f"telemetry.{field}_changed",
        )
        return _record(team_row, row)


def set_sampling(
    ctx: Context, team: str, document: Mapping[str, Any] | None, *, reason: str = ""
) -> TelemetrySettingsRecord:
    """Set ``team``'s tail-sampling document (``None``: back to the default); checked first,
    every error naming its field."""
    stored = None
    if document is not None:
        parse(document)
        stored = dict(document)
    return _change(ctx, team, "telemetry.sampling", "sampling", stored, reason)


def set_unmasked(
    ctx: Context, team: str, keys: Sequence[str], *, reason: str = ""
) -> TelemetrySettingsRecord:
    """Set the attribute keys whose values ``team`` stores unmasked (a data steward's call)."""
    cleaned = sorted({k.strip() for k in keys})
    if len(cleaned) > MAX_UNMASKED:
        raise Invalid(f"at most {MAX_UNMASKED} keys", field="unmasked")
    for key in cleaned:
        if not key or len(key) > 256 or any(c in key for c in '"\\\n\r\t'):
            raise Invalid(f"{key!r} is not an attribute key", field="unmasked")
    if not reason.strip() and cleaned:
        raise Invalid("say why these values may be stored unmasked", field="reason")
    return _change(ctx, team, "telemetry.unmask", "unmasked", cleaned, reason)


def set_budget(
    ctx: Context, team: str, budget: Mapping[str, Any] | None, reason: str = ""
) -> TelemetrySettingsRecord:
    """Set ``team``'s daily telemetry budget (``None``: no budget), audited; see
    :mod:`andon.telemetry.budgets` for the fields and actions."""
    parsed = budgets.parse(dict(budget) if budget is not None else None)
    value = parsed.as_dict() if parsed is not None else None
    return _change(ctx, team, "telemetry.sampling", "budget", value, reason)


def set_tags(
    ctx: Context, team: str, document: Mapping[str, Any] | None, reason: str = ""
) -> TelemetrySettingsRecord:
    """Set ``team``'s tag schema (``None``: attributes stored as sent), audited; see
    :mod:`andon.telemetry.tags` for the document. It applies from the writer's next pass."""
    value = tags.as_document(tags.parse(document)) if document is not None else None
    return _change(ctx, team, "telemetry.sampling", "tags", value, reason)


def cardinality_report(
    ctx: Context,
    team: str,
    since: date,
    proposed: Mapping[str, Any] | None = None,
) -> cardinality.CardinalityReport:
    """Per attribute key of ``team`` since ``since``: distinct values, occurrences and bytes
    stored, what the tag guard dropped, and what the team's schema (or ``proposed``, a schema
    not yet set) keeps and would save."""
    stored = telemetry_settings(ctx, team).tags  # checks telemetry.read on the team
    schema: tags.TagSchema | None = None
    which = "none"
    if proposed is not None:
        schema, which = tags.parse(proposed), "proposed"
    elif stored is not None:
        schema, which = tags.parse(stored), "team"
    limits = SqlLimits.of(ctx.settings)
    store = cold.of(ctx.settings)
    return cardinality.report(ctx.settings.home, team, since, schema, which, limits, store)


def budget_status(ctx: Context, team: str) -> dict[str, Any]:
    """``team``'s budget and what it spent today (UTC)."""
    today = ctx.clock.now().date()
    with ctx.db.read() as session:
        row = team_by_name(session, team)
        ctx.require("telemetry.read", team_id=row.id)
        settings = session.get(tt.TelemetrySettings, row.id)
        budget = budgets.parse(settings.budget) if settings is not None else None
        spent = budgets.usage(session, row.id, today)
        used = int(spent.bytes) if spent is not None else 0
        return {
            "team": team, "day": today.isoformat(), "bytes": used,
            "budget": budget.as_dict() if budget else None,
            "percent": round(100 * used / budget.bytes_per_day, 1) if budget else None,
            "warned": bool(spent and spent.warned), "exceeded": bool(spent and spent.exceeded),
            "resets_at": budgets.resets_at(today).isoformat(),
        }  # fmt: skip


def ingest(ctx: Context, team: str, signal: str, table: pa.Table) -> Ingested:
    """Mask and spool one batch of ``signal`` rows (schema :data:`SCHEMAS`) for ``team``.

    Returns once the batch is durably spooled: acknowledging it is then safe. An empty batch
    is checked like any other and spools nothing."""
    if signal not in SCHEMAS:
        raise Invalid(f"unknown signal (known: {', '.join(SCHEMAS)})", field="signal")
    today = ctx.clock.now().date()
    with ctx.db.read() as session:
        team_row = _team(session, team)
        ctx.require("telemetry.write", team_id=team_row.id)
        row = session.get(tt.TelemetrySettings, team_row.id)
        unmasked = frozenset(row.unmasked) if row is not None else frozenset()
        budget = budgets.parse(row.budget) if row is not None else None
        spent = budgets.usage(session, team_row.id, today) if budget else None
    over = spent is not None and spent.exceeded
    if over and budget is not None and budget.action == "refuse":
        raise BudgetExceeded(
            f"team {team} spent its telemetry budget of {budget.bytes_per_day:,} bytes today",
            field="team",
            hint=f"it resets at {budgets.resets_at(today).isoformat()}",
            retry_after=max(1, int((budgets.resets_at(today) - ctx.clock.now()).total_seconds())),
        )
    if over and budget is not None and budget.action == "drop_debug_logs" and signal == "logs":
        import pyarrow.compute as pc  # about 35 ms at import: here, not on `telemetry query`

        severity = table.column("severity_number")
        table = table.filter(pc.greater_equal(severity, budgets.INFO))  # never null (LOGS)
    if not table.num_rows:
        return Ingested(team, signal, 0, 0, "")
    table = table.set_column(
        table.schema.get_field_index("team"), "team", pa.array([team] * table.num_rows, pa.string())
    )
    table, masked = masking.mask_table(table, unmasked)
    file = spool.write(ctx.settings.home, team, signal, table)
    try:
        with ctx.db.transaction() as session:
            budgets.meter(session, team_row.id, team, budget, today, file.path.stat().st_size,
                          ctx.clock.now())  # fmt: skip
    except (AndonError, SQLAlchemyError) as exc:
        # The batch is durable: failing now would make the producer send it twice. The
        # day's count misses this batch instead.
        log.warning("team %s: a telemetry batch was not metered: %s", team, type(exc).__name__)
    return Ingested(team, signal, table.num_rows, masked, file.name)


def _team(session: Any, name: str) -> t.Team:
    try:
        return team_by_name(session, name)
    except NotFound:
        raise NotFound(f"no team '{name}'", field="team") from None


def readable_teams(ctx: Context, teams: Sequence[str] | None = None) -> list[str]:
    """The named ``teams`` (all when ``None``) whose telemetry the principal may read;
    :class:`Forbidden` naming one asked for and not readable."""
    with ctx.db.read() as session:
        ctx.require_somewhere("telemetry.read")
        rows = {r.name: r for r in session.scalars(select(t.Team).order_by(t.Team.name))}
        if teams:
            for name in teams:
                if name not in rows:
                    raise NotFound(f"no team '{name}'", field="team")
                if not ctx.can("telemetry.read", team_id=rows[name].id):
                    raise Forbidden(f"may not read the telemetry of team '{name}'", field="team")
            return sorted(set(teams))
        return [name for name, row in rows.items() if ctx.can("telemetry.read", team_id=row.id)]


def writable_teams(ctx: Context) -> list[str]:
    """The teams the principal may send telemetry for, by name."""
    with ctx.db.read() as session:
        ctx.require_somewhere("telemetry.write")
        rows = session.scalars(select(t.Team).order_by(t.Team.name))
        return [row.name for row in rows if ctx.can("telemetry.write", team_id=row.id)]


def query(
    ctx: Context,
    sql: str,
    teams: Sequence[str] | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    max_rows: int = sql_query.MAX_ROWS,
) -> sql_query.QueryResult:
    """Run one read-only SELECT over the telemetry of the teams the principal may read, its
    ``$name`` placeholders bound to ``params``; at most ``max_rows`` rows come back."""
    allowed = readable_teams(ctx, teams)
    limits = SqlLimits.of(ctx.settings)
    store = cold.of(ctx.settings)
    return sql_query.run(ctx.settings.home, allowed, sql, limits, max_rows, params, store)


def sampling_report(ctx: Context, teams: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Kept and dropped traces and spans per team and policy, since each hot file began."""
    rows: list[dict[str, Any]] = []
    for team in readable_teams(ctx, teams):
        if not hot.path_of(ctx.settings.home, team).exists():
            continue
        with hot.reading(ctx.settings.home, team) as con:
            for kept, policy, traces, spans, late in con.execute(
                "SELECT kept, policy, traces, spans, late_spans FROM sampling_totals "
                "WHERE traces <> 0 OR spans <> 0 OR late_spans <> 0 ORDER BY kept DESC, policy"
            ).fetchall():
                rows.append({"team": team, "decision": "kept" if kept else "dropped",
                             "policy": policy, "traces": traces, "spans": spans,
                             "late_spans": late})  # fmt: skip
    return rows


def retain(
    ctx: Context,
    team: str,
    today: date,
    *,
    hot_days: int = tiers.HOT_DAYS,
    cold_days: int = tiers.COLD_DAYS,
) -> tiers.RetentionReport:
    """Move ``team``'s days past ``hot_days`` to the cold tier, expire cold days past
    ``cold_days`` (audited with what moved)."""
    if not 1 <= hot_days <= 3650 or not hot_days <= cold_days <= 36500:
        raise Invalid("needs 1 <= hot_days <= cold_days", field="hot_days")
    with ctx.db.read() as session:
        team_row = _team(session, team)
        ctx.require("telemetry.retain", team_id=team_row.id)
    store = cold.of(ctx.settings)
    report = tiers.retain(ctx.settings.home, team, today, hot_days, cold_days, store)
    with ctx.db.transaction() as session:
        record_change(
            session,
            ctx,
            action="telemetry.retain",
            object_id=team_row.id,
            change={
                **report.as_dict(),
                "hot_days": hot_days,
                "cold_days": cold_days,
                "today": today.isoformat(),
                "cold_tier": store.shown,
            },
            event="telemetry.retained",
        )
    return report
