"""The andon board: one line per area of the line, green, amber or red.

Each area is a function from a context to a :class:`Light`. Later areas (data, models,
gateway, monitors) add their function to ``AREAS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select

from andon.audit import chain, keys
from andon.core.context import Context
from andon.core.errors import AndonError
from andon.store import migrate
from andon.store import tables as t
from andon.store.db import Database

Color = Literal["green", "amber", "red"]
_RANK: dict[str, int] = {"green": 0, "amber": 1, "red": 2}


def _n(count: int, noun: str, plural: str | None = None) -> str:
    """``1 token``, ``2 tokens``."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


@dataclass(frozen=True)
class Light:
    """One area's state and the sentence that explains it."""

    area: str
    color: Color
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"area": self.area, "color": self.color, "detail": self.detail}


def _store(ctx: Context) -> Light:
    db = ctx.db
    if not isinstance(db, Database):
        return Light("metadata store", "amber", "not an andon database")
    try:
        state = migrate.state(db)
    except AndonError as exc:
        return Light("metadata store", "red", str(exc))
    backend = db.dialect
    if state.up_to_date:
        return Light("metadata store", "green", f"{backend}, schema {state.current} (current)")
    return Light("metadata store", "red", f"{backend}, schema {state.current}, needs {state.head}")


def _audit(ctx: Context) -> Light:
    try:
        key = keys.load_key(ctx.settings)
    except AndonError as exc:
        return Light("audit chain", "amber", f"not verified: {exc.message}")
    with ctx.db.read() as session:
        result = chain.verify(session, key)
    if result.ok:
        return Light(
            "audit chain",
            "green",
            f"{_n(result.checked, 'entry', 'entries')}, chain intact",
        )
    return Light(
        "audit chain",
        "red",
        f"broken at entry {result.first_bad_seq}: {result.problem}",
    )


def _oncall(ctx: Context) -> Light:
    with ctx.db.read() as session:
        teams = session.scalar(select(func.count()).select_from(t.Team)) or 0
        covered = session.scalar(select(func.count(func.distinct(t.Rotation.team_id)))) or 0
        ladders = session.scalar(select(func.count(func.distinct(t.EscalationStep.team_id)))) or 0
    if teams == 0:
        return Light("teams & on-call", "amber", "no teams yet: `andon team create`")
    if covered < teams:
        return Light(
            "teams & on-call",
            "amber",
            f"{teams - covered} of {_n(teams, 'team')} {'has' if teams - covered == 1 else 'have'} no on-call",
        )
    return Light(
        "teams & on-call",
        "green",
        f"{_n(teams, 'team')} on call, {ladders} with an escalation ladder",
    )


def _access(ctx: Context) -> Light:
    now = ctx.clock.now()
    with ctx.db.read() as session:
        principals = session.scalar(
            select(func.count()).select_from(t.Principal).where(t.Principal.disabled.is_(False))
        )
        tokens = session.scalar(
            select(func.count())
            .select_from(t.ApiToken)
            .where(t.ApiToken.revoked_at.is_(None))
            .where((t.ApiToken.expires_at.is_(None)) | (t.ApiToken.expires_at > now))
        )
        admins = session.scalar(
            select(func.count(func.distinct(t.RoleBinding.principal_id))).where(
                t.RoleBinding.role == "platform-admin", t.RoleBinding.scope == "global"
            )
        )
    color: Color = "green" if admins else "red"
    return Light(
        "identity & access",
        color,
        f"{_n(principals or 0, 'principal')}, {_n(tokens or 0, 'live token')}, "
        f"{_n(admins or 0, 'global admin')}",
    )


def _outbox(ctx: Context) -> Light:
    with ctx.db.read() as session:
        last = session.scalar(select(func.max(t.OutboxEvent.seq))) or 0
        consumers = session.execute(
            select(t.ConsumerCursor.consumer, t.ConsumerCursor.position)
        ).all()
    if not consumers:
        return Light("events", "green", f"{_n(last, 'event')}, no consumers registered yet")
    lag = max(last - pos for _, pos in consumers)
    color: Color = "green" if lag < 1000 else "amber"
    return Light(
        "events", color, f"{_n(last, 'event')}, {_n(len(consumers), 'consumer')}, max lag {lag}"
    )


def _registry(ctx: Context) -> Light:
    from andon.store import registry_tables as r

    with ctx.db.read() as session:
        models = session.scalar(select(func.count()).select_from(r.Model)) or 0
        champions = (
            session.scalar(
                select(func.count())
                .select_from(r.ModelAlias)
                .where(r.ModelAlias.alias == "champion")
            )
            or 0
        )
    if models == 0:
        return Light("model registry", "green", "no models registered yet")
    color: Color = "green" if champions == models else "amber"
    return Light("model registry", color, f"{_n(models, 'model')}, {champions} with a champion")


def _data(ctx: Context) -> Light:
    """Latest check run of each contract: red if an error-severity check failed."""
    from andon.store import data_tables as d

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
        f"{_n(len(contracts), 'contract')}: {red} failing, {amber} with warnings, "
        f"{unchecked} never checked"
    )
    color: Color = "red" if red else "amber" if amber or unchecked else "green"
    return Light("data quality", color, detail)


def _cords(ctx: Context) -> Light:
    """Red while any model's andon cord is pulled (its promotions are stopped)."""
    from andon.policy.cord import pulled_cords

    with ctx.db.read() as session:
        pulled = pulled_cords(session)
    if not pulled:
        return Light("andon cords", "green", "no cord pulled")
    shown = ", ".join(f"{name} ({reason})" for name, reason in pulled[:3])
    more = f" and {len(pulled) - 3} more" if len(pulled) > 3 else ""
    return Light("andon cords", "red", f"{_n(len(pulled), 'cord')} pulled: {shown}{more}")


def _schema_changes(ctx: Context) -> Light:
    """Red while a breaking schema change awaits a data-steward or a live table breaks."""
    from andon.store import data_tables as d
    from andon.store import schema_change_tables as s

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
            f"{_n(len(pending), 'contract')} with a breaking version pending: " + ", ".join(pending)
        )
    if live:
        parts.append(f"live tables break {_n(len(live), 'contract')}: " + ", ".join(live))
    return Light("schema changes", "red", "; ".join(parts))


AREAS: list[Callable[[Context], Light]] = [
    _store,
    _access,
    _audit,
    _oncall,
    _outbox,
    _registry,
    _data,
    _cords,
    _schema_changes,
]


def board(ctx: Context) -> list[Light]:
    """Every area's light, in line order."""
    ctx.require_somewhere("status.read")
    return [area(ctx) for area in AREAS]


def worst(lights: list[Light]) -> Color:
    """The colour of the whole board: its worst light."""
    return max((light.color for light in lights), key=_RANK.__getitem__, default="green")
