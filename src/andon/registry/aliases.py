"""Moving a model's alias: :func:`set_alias` (the operation) and the one write of ``model_aliases``.

:func:`set_alias` is what ``andon model alias`` calls: it checks ``model.alias``, refuses an alias
a stage policy owns (that one moves only by promotion or rollback), moves it and audits the move
with an outbox event. :func:`move_alias` is the move itself and runs inside the caller's
transaction, like ``audit.chain.record_change``: the caller (:func:`set_alias`,
``policy.promotion``) has authorized the move and audits it in the same transaction. The move
is a compare-and-swap on the version the caller expects the alias to hold: one conditional
``UPDATE ... WHERE version = expected`` (or an ``INSERT`` when the caller expects no alias),
decided by the database. Of two transactions expecting the same version, the second's ``UPDATE``
matches no row (PostgreSQL waits for the first's row lock, then re-reads the row; SQLite runs
write transactions one at a time) and it gets :class:`~andon.core.errors.Conflict` naming the
version the alias holds now.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid
from andon.registry.queries import model_by_ref, parse_ref, team_names, version_by_ref
from andon.registry.records import AliasMove
from andon.store.lookups import stage_of_alias
from andon.store.tables import registry as r

_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")


def alias_version(session: Session, model_id: str, alias: str) -> int | None:
    """The version ``alias`` of the model points at, or None when it is not set."""
    return session.scalar(
        select(r.ModelAlias.version).where(
            r.ModelAlias.model_id == model_id, r.ModelAlias.alias == alias
        )
    )


def move_alias(
    session: Session,
    *,
    model_id: str,
    model_name: str,
    alias: str,
    expected: int | None,
    to: int,
    at: datetime,
) -> None:
    """Point ``alias`` at version ``to`` if it points at ``expected`` now (None: unset).

    Raises :class:`Conflict` (``details["current_version"]`` is what the alias holds) when it
    does not, changing nothing.
    """
    if expected is None:
        try:
            with session.begin_nested():
                session.add(r.ModelAlias(model_id=model_id, alias=alias, version=to, updated_at=at))
                session.flush()
        except IntegrityError:
            raise _moved(session, model_id, model_name, alias, expected) from None
        return
    moved = session.execute(
        update(r.ModelAlias)
        .where(
            r.ModelAlias.model_id == model_id,
            r.ModelAlias.alias == alias,
            r.ModelAlias.version == expected,
        )
        .values(version=to, updated_at=at)
    )
    if cast("CursorResult[Any]", moved).rowcount != 1:
        raise _moved(session, model_id, model_name, alias, expected)


def _moved(
    session: Session, model_id: str, model_name: str, alias: str, expected: int | None
) -> Conflict:
    current = alias_version(session, model_id, alias)
    now = f"{model_name}@{current}" if current is not None else "nothing"
    was = f"{model_name}@{expected}" if expected is not None else "nothing"
    return Conflict(
        f"alias '{alias}' of '{model_name}' points at {now}, not {was}: it moved meanwhile",
        field="alias",
        current_version=current,
    )


def set_alias(
    ctx: Context, ref: str, alias: str, *, expect: int | None = None, reason: str = ""
) -> AliasMove:
    """Point ``alias`` at the version ``ref`` names (``name@version``), compare-and-swap.

    ``expect`` (when given) is the version the alias must point at now; the move is one
    conditional UPDATE, so two concurrent moves cannot both win.
    """
    if not _ALIAS.match(alias):
        raise Invalid(f"'{alias}' must start with a-z and use only a-z 0-9 _ -", field="alias")
    parsed = parse_ref(ref)
    if parsed.version is None:
        raise Invalid(f"'{ref}' must name a version: NAME@VERSION", field="model")
    with ctx.db.transaction() as session:
        model = model_by_ref(session, parsed)
        ctx.require("model.alias", team_id=model.team_id, asset_id=model.asset_id)
        stage = stage_of_alias(session, model.team_id, model.name, alias)
        if stage is not None:
            raise Forbidden(
                f"alias '{alias}' of '{model.name}' is stage '{stage}' of its stage policy: "
                "it moves only when a version is promoted (gate and approvals) or rolled back",
                hint=f"`andon model promote {model.name}@VERSION --stage {stage}`",
            )
        target = version_by_ref(session, model, parsed)
        current = alias_version(session, model.id, alias)
        if expect is not None and current != expect:
            raise Conflict(
                f"alias '{alias}' of '{model.name}' is at {current or 'nothing'}, not {expect}"
            )
        move_alias(
            session,
            model_id=model.id,
            model_name=model.name,
            alias=alias,
            expected=current,
            to=target.version,
            at=ctx.clock.now(),
        )
        team_name = team_names(session, [model.team_id])[model.team_id]
        record_change(
            session,
            ctx,
            action="model.alias",
            object_id=target.id,
            change={
                "model": model.name,
                "team": team_name,
                "alias": alias,
                "from": current,
                "to": target.version,
            },
            reason=reason,
            event="model.alias.moved",
        )
        return AliasMove(model.name, alias, current, target.version)
