"""The data domain's lights on the andon board: data quality and schema changes."""

from __future__ import annotations

from sqlalchemy import select

from andon.core.context import Context
from andon.core.lights import Color, Light, counted, register_light
from andon.store.tables import data as d
from andon.store.tables import schema_changes as s


def data_light(ctx: Context) -> Light:
    """Latest check run of each contract: red if an error-severity check failed."""
    with ctx.db.read() as session:
        contracts = list(session.scalars(select(d.DataContract.id)))
        latest = []
        for contract_id in contracts:
            run = session.scalar(
                select(d.CheckRun)
                .join(
                    d.DataContractVersion,
                    d.DataContractVersion.id == d.CheckRun.contract_version_id,
                )
                .where(d.DataContractVersion.contract_id == contract_id)
                .order_by(d.CheckRun.started_at.desc(), d.CheckRun.id.desc())
                .limit(1)
            )
            if run is not None:
                latest.append(run)
    if not contracts:
        return Light("data quality", "amber", "no contracts yet: `andon contract apply`")
    red = sum(1 for r in latest if r.errors_failed)
    amber = sum(1 for r in latest if not r.errors_failed and r.warnings_failed)
    unchecked = len(contracts) - len(latest)
    detail = (
        f"{counted(len(contracts), 'contract')}: {red} failing, {amber} with warnings, "
        f"{unchecked} never checked"
    )
    color: Color = "red" if red else "amber" if amber or unchecked else "green"
    return Light("data quality", color, detail)


def schema_changes_light(ctx: Context) -> Light:
    """Red while a breaking schema change awaits a data-steward or a live table breaks."""
    with ctx.db.read() as session:
        rows = session.execute(
            select(s.SchemaChange.source, d.DataContract.key)
            .join(d.DataContract, d.DataContract.id == s.SchemaChange.contract_id)
            .where(s.SchemaChange.status.in_(("pending", "open")))
            .order_by(d.DataContract.key)
        ).all()
    if not rows:
        return Light("schema changes", "green", "no breaking schema change waiting")
    pending = sorted({key for source, key in rows if source == "contract"})
    live = sorted({key for source, key in rows if source == "snapshot"})
    parts = []
    if pending:
        parts.append(
            f"{counted(len(pending), 'contract')} with a breaking version pending: "
            + ", ".join(pending)
        )
    if live:
        parts.append(f"live tables break {counted(len(live), 'contract')}: " + ", ".join(live))
    return Light("schema changes", "red", "; ".join(parts))


register_light("data quality", 70, data_light)
register_light("schema changes", 90, schema_changes_light)
