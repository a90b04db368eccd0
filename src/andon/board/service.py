"""The andon board: one line per area of the line, green, amber or red.

Each area is a function from a context to a :class:`~andon.core.lights.Light`, registered
with :func:`andon.core.lights.register_light`: the board's own areas here, each domain's in
its ``lights`` module (``registry/lights.py``, ``data/lights.py``, ``policy/lights.py``).
"""

from __future__ import annotations

from sqlalchemy import func, select

# Each domain registers its lights when its ``lights`` module is imported.
import andon.data.lights
import andon.policy.lights
import andon.registry.lights
import andon.serve.lights  # noqa: F401
from andon.audit import queries as audit_chain
from andon.core.context import Context
from andon.core.errors import AndonError
from andon.core.lights import Color, Light, counted, light_providers, register_light
from andon.store import migrate
from andon.store.db import Database
from andon.store.tables import auth as t
from andon.store.tables import events as events_tables


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
        key = audit_chain.load_key(ctx.settings)
    except AndonError as exc:
        return Light("audit chain", "amber", f"not verified: {exc.message}")
    with ctx.db.read() as session:
        result = audit_chain.verify_chain(session, key)
    if result.ok:
        return Light(
            "audit chain",
            "green",
            f"{counted(result.checked, 'entry', 'entries')}, chain intact",
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
            f"{teams - covered} of {counted(teams, 'team')} {'has' if teams - covered == 1 else 'have'} no on-call",
        )
    return Light(
        "teams & on-call",
        "green",
        f"{counted(teams, 'team')} on call, {ladders} with an escalation ladder",
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
        f"{counted(principals or 0, 'principal')}, {counted(tokens or 0, 'live token')}, "
        f"{counted(admins or 0, 'global admin')}",
    )


def _outbox(ctx: Context) -> Light:
    with ctx.db.read() as session:
        last = session.scalar(select(func.max(events_tables.OutboxEvent.seq))) or 0
        consumers = session.execute(
            select(events_tables.ConsumerCursor.consumer, events_tables.ConsumerCursor.position)
        ).all()
    if not consumers:
        return Light("events", "green", f"{counted(last, 'event')}, no consumers registered yet")
    lag = max(last - pos for _, pos in consumers)
    color: Color = "green" if lag < 1000 else "amber"
    return Light(
        "events",
        color,
        f"{counted(last, 'event')}, {counted(len(consumers), 'consumer')}, max lag {lag}",
    )


register_light("metadata store", 10, _store)
register_light("identity & access", 20, _access)
register_light("audit chain", 30, _audit)
register_light("teams & on-call", 40, _oncall)
register_light("events", 50, _outbox)

_RANK: dict[str, int] = {"green": 0, "amber": 1, "red": 2}


def board(ctx: Context) -> list[Light]:
    """Every area's light, in line order."""
    ctx.require_somewhere("status.read")
    return [provider(ctx) for provider in light_providers()]


def worst(lights: list[Light]) -> Color:
    """The colour of the whole board: its worst light."""
    return max((light.color for light in lights), key=_RANK.__getitem__, default="green")
