"""Roles and the permission table: pure data, no database.

A role binding grants a role at a scope: everywhere (``global``), one team, or one asset.
A check asks for an action on an object that belongs to a team (and may be an asset); a
binding matches when its scope is global, that team, or that asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ScopeKind = Literal["global", "team", "asset"]

ROLES: tuple[str, ...] = (
    "viewer",
    "contributor",
    "data-steward",
    "approver",
    "risk-owner",
    "agent",
    "platform-admin",
)

_READ = frozenset(
    {
        "team.read",
        "principal.read",
        "binding.read",
        "asset.read",
        "audit.read",
        "events.read",
        "status.read",
    }
)

PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": _READ,
    "agent": _READ,
    "contributor": _READ | {"asset.register"},
    "data-steward": _READ | {"asset.register"},
    "approver": _READ,
    "risk-owner": _READ | {"audit.verify", "team.escalation"},
    "platform-admin": _READ
    | {
        "team.create",
        "team.update",
        "team.oncall",
        "team.escalation",
        "principal.create",
        "principal.disable",
        "binding.create",
        "binding.delete",
        "token.create",
        "token.revoke",
        "asset.register",
        "audit.verify",
    },
}

ACTIONS: frozenset[str] = frozenset().union(*PERMISSIONS.values()) | {"token.create.self"}


@dataclass(frozen=True, slots=True)
class Grant:
    """A role held at a scope."""

    role: str
    scope: ScopeKind
    scope_id: str | None = None

    def covers(self, team_id: str | None, asset_id: str | None) -> bool:
        """Whether this grant's scope contains an object of ``team_id`` / ``asset_id``."""
        if self.scope == "global":
            return True
        if self.scope == "team":
            return team_id is not None and self.scope_id == team_id
        return asset_id is not None and self.scope_id == asset_id


def allows(
    grants: tuple[Grant, ...], action: str, team_id: str | None, asset_id: str | None
) -> bool:
    """Whether any grant permits ``action`` on an object in the given team / asset."""
    return any(
        action in PERMISSIONS.get(g.role, frozenset()) and g.covers(team_id, asset_id)
        for g in grants
    )
