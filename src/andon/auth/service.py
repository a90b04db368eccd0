"""Identity, teams, roles, tokens, on-call and escalation: the only door for their state.

Every function that changes state takes a :class:`Context` first and, in one transaction,
checks the permission, makes the change, appends the audit entry and writes the outbox event.
The operations live by noun in :mod:`principals`, :mod:`teams`, :mod:`rotations`,
:mod:`assets`, :mod:`bindings` and :mod:`api_tokens`; this module re-exports them so callers
keep one name, ``auth``.
"""

from __future__ import annotations

from andon.auth.api_tokens import create_token, list_tokens, revoke_token
from andon.auth.assets import list_assets, register_asset
from andon.auth.bindings import Scope, bind_role, list_bindings, unbind_role
from andon.auth.contexts import authenticate, context_for
from andon.auth.principals import (
    PRINCIPAL_KINDS,
    bootstrap,
    create_principal,
    disable_principal,
    list_principals,
    whoami,
)
from andon.auth.rotations import (
    ESCALATION_LEVELS,
    escalation,
    list_rotations,
    oncall,
    set_escalation,
    set_rotation,
)
from andon.auth.teams import add_member, create_team, get_team, list_teams, remove_member

__all__ = [
    "ESCALATION_LEVELS",
    "PRINCIPAL_KINDS",
    "Scope",
    "add_member",
    "authenticate",
    "bind_role",
    "bootstrap",
    "context_for",
    "create_principal",
    "create_team",
    "create_token",
    "disable_principal",
    "escalation",
    "get_team",
    "list_assets",
    "list_bindings",
    "list_principals",
    "list_rotations",
    "list_teams",
    "list_tokens",
    "oncall",
    "register_asset",
    "remove_member",
    "revoke_token",
    "set_escalation",
    "set_rotation",
    "unbind_role",
    "whoami",
]
