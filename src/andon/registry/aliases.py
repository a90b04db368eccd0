"""Moving a model's alias: the registry's one write of ``model_aliases``.

:func:`move_alias` runs inside the caller's transaction, like ``audit.chain.record_change``:
the caller (``registry.service.set_alias``, ``policy.promotion``) has authorized the move and
audits it in the same transaction. The move is a compare-and-swap on the version the caller
expects the alias to hold: one conditional ``UPDATE ... WHERE version = expected`` (or an
``INSERT`` when the caller expects no alias), decided by the database. Of two transactions
expecting the same version, the second's ``UPDATE`` matches no row (PostgreSQL waits for the
first's row lock, then re-reads the row; SQLite runs write transactions one at a time) and it
gets :class:`~andon.core.errors.Conflict` naming the version the alias holds now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.core.errors import Conflict
from andon.store import registry_tables as r


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
