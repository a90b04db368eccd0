"""The Context every service takes first: who acts, on which store, at what time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from andon.core.clock import Clock, SystemClock
from andon.core.config import Settings
from andon.core.errors import Forbidden
from andon.core.permissions import GLOBAL_ONLY, PERMISSIONS, Grant, allows, allows_somewhere

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Database(Protocol):
    """What services need of the metadata store."""

    def transaction(self) -> AbstractContextManager[Session]:
        """A write transaction: commits on success, rolls back on any error."""
        ...

    def read(self) -> AbstractContextManager[Session]:
        """A read-only session."""
        ...


@dataclass(frozen=True)
class Principal:
    """Who is acting."""

    id: str
    name: str
    kind: str


SYSTEM = Principal(id="system", name="system", kind="service")
"""The platform itself (bootstrap, schedulers): may do anything. Only this very object is
privileged (an equal ``Principal`` built elsewhere is not), and no principal may be named
``system``, so the audit log's ``system`` actor is always the platform."""


@dataclass(frozen=True)
class Context:
    """Principal, grants, database, clock and settings for one request or command."""

    db: Database
    settings: Settings
    principal: Principal
    grants: tuple[Grant, ...] = ()
    clock: Clock = field(default_factory=SystemClock)
    request_id: str | None = None

    def can(self, action: str, *, team_id: str | None = None, asset_id: str | None = None) -> bool:
        """Whether the principal may perform ``action`` on the object."""
        if self.principal is SYSTEM:
            return True
        return allows(self.grants, action, team_id, asset_id)

    def require_somewhere(self, action: str) -> None:
        """Raise :class:`Forbidden` unless some grant, at any scope, carries ``action``.

        For listings, which then filter rows by the scope of each grant.
        """
        if self.principal is SYSTEM or allows_somewhere(self.grants, action):
            return
        raise Forbidden(f"{self.principal.name} lacks permission '{action}'", action=action)

    def require(
        self, action: str, *, team_id: str | None = None, asset_id: str | None = None
    ) -> None:
        """Raise :class:`Forbidden` unless the principal may perform ``action``."""
        if not self.can(action, team_id=team_id, asset_id=asset_id):
            where = (
                f" on asset {asset_id}" if asset_id else f" in team {team_id}" if team_id else ""
            )
            details = {}
            narrower = [g for g in self.grants if action in PERMISSIONS.get(g.role, ())]
            if narrower and team_id is None and action in GLOBAL_ONLY:
                details["hint"] = (
                    f"'{action}' acts on the whole platform: only a global binding grants it, "
                    f"not the {narrower[0].role} binding at {narrower[0].scope} scope"
                )
            raise Forbidden(
                f"{self.principal.name} lacks permission '{action}'{where}",
                action=action,
                **details,
            )


def iter_scopes(grants: tuple[Grant, ...]) -> Iterator[str]:
    """Human-readable scopes of ``grants`` (for `andon whoami`)."""
    for g in grants:
        yield f"{g.role}@{g.scope}{':' + g.scope_id if g.scope_id else ''}"
