"""Shared reads and checks of the auth domain: names, principals, grants, the last admin.

Public so the auth modules (and other domains) need no underscore names of each other.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.core.context import SYSTEM
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.permissions import TEAM_OWNER, Grant
from andon.store.tables import auth as t

__all__ = [
    "NAME",
    "TEAM_NAME",
    "check_name",
    "check_principal_name",
    "enabled_global_admins",
    "flush_unique",
    "grants_of",
    "keep_an_admin",
    "principal_row",
    "team_by_name",
]

NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")
TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_RESERVED_NAMES = frozenset({SYSTEM.name})


def team_by_name(session: Session, name: str) -> t.Team:
    """The team called ``name``, or :class:`NotFound` naming the field ``team``."""
    row = session.scalar(select(t.Team).where(t.Team.name == name))
    if row is None:
        raise NotFound(f"no team named '{name}'", field="team")
    return row


def check_name(value: str, field: str, pattern: re.Pattern[str] = NAME) -> str:
    """``value`` if it matches ``pattern`` (a principal's by default), else :class:`Invalid`."""
    if not pattern.match(value):
        raise Invalid(
            f"'{value}' must start with a lowercase letter or digit and use only "
            f"{'a-z 0-9 _ -' if pattern is TEAM_NAME else 'a-z 0-9 . _ @ -'}",
            field=field,
        )
    return value


def check_principal_name(value: str, field: str) -> str:
    """A principal's name: :func:`check_name`, and not a reserved one such as ``system``."""
    check_name(value, field)
    if value in _RESERVED_NAMES:
        # The audit log's "system" actor must always be the platform itself.
        raise Invalid(f"'{value}' is reserved", field=field)
    return value


def principal_row(session: Session, name: str) -> t.Principal:
    """The principal row named ``name``, or :class:`NotFound` naming the field."""
    row = session.scalar(select(t.Principal).where(t.Principal.name == name))
    if row is None:
        raise NotFound(f"no principal named '{name}'", field="principal")
    return row


def grants_of(session: Session, principal_id: str) -> tuple[Grant, ...]:
    """The principal's role bindings, plus the implicit ``team-owner`` of each team it owns."""
    rows = session.execute(
        select(t.RoleBinding.role, t.RoleBinding.scope, t.RoleBinding.scope_id)
        .where(t.RoleBinding.principal_id == principal_id)
        .order_by(t.RoleBinding.created_at, t.RoleBinding.id)
    ).all()
    owned = session.scalars(
        select(t.TeamMember.team_id)
        .where(t.TeamMember.principal_id == principal_id, t.TeamMember.is_owner.is_(True))
        .order_by(t.TeamMember.team_id)
    ).all()
    bound = tuple(Grant(role, scope, scope_id or None) for role, scope, scope_id in rows)  # type: ignore[arg-type]
    return bound + tuple(Grant(TEAM_OWNER, "team", team_id) for team_id in owned)


def enabled_global_admins(session: Session) -> set[str]:
    """Ids of enabled principals bound ``platform-admin`` globally.

    Locks those rows (PostgreSQL; SQLite writers are serialised anyway), so two admins
    disabling or unbinding each other at once cannot both pass the check.
    """
    return set(
        session.scalars(
            select(t.RoleBinding.principal_id)
            .join(t.Principal, t.Principal.id == t.RoleBinding.principal_id)
            .where(
                t.RoleBinding.role == "platform-admin",
                t.RoleBinding.scope == "global",
                t.Principal.disabled.is_(False),
            )
            .with_for_update()
        )
    )


def keep_an_admin(session: Session, principal_id: str, what: str) -> None:
    """Refuse a change that would leave no enabled global platform-admin."""
    if enabled_global_admins(session) == {principal_id}:
        raise Conflict(
            f"{what} would leave no enabled global platform-admin: bind another one first"
        )


def flush_unique(session: Session, what: str) -> None:
    """Flush, turning a unique-constraint violation into :class:`Conflict` about ``what``."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{what} already exists") from None


# --------------------------------------------------------------------------- contexts
