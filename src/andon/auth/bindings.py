"""Role bindings: a role granted to a principal globally, in one team, or on one asset."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.auth.queries import flush_unique, keep_an_admin, principal_row, team_by_name
from andon.auth.records import BindingRecord
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Forbidden, Invalid, NotFound
from andon.core.ids import new_id
from andon.core.permissions import ROLES
from andon.store.tables import auth as t

Scope = Literal["global", "team", "asset"]


def _resolve_scope(
    session: Session, scope: str, target: str | None
) -> tuple[str, str | None, str | None]:
    """Return (scope_id, team_id for the permission check, asset_id)."""
    if scope not in ("global", "team", "asset"):
        raise Invalid(f"'{scope}' is not one of global, team, asset", field="scope")
    if scope == "global":
        if target:
            raise Invalid("a global binding takes no target", field="target")
        return "", None, None
    if not target:
        raise Invalid(f"a {scope} binding needs a target", field="target")
    if scope == "team":
        team_row = team_by_name(session, target)
        return team_row.id, team_row.id, None
    asset = session.get(t.Asset, target)
    if asset is None:
        raise NotFound(f"no asset with id '{target}'", field="target")
    return asset.id, asset.team_id, asset.id


def bind_role(
    ctx: Context,
    principal: str,
    role: str,
    *,
    scope: str = "global",
    target: str | None = None,
    reason: str = "",
) -> BindingRecord:
    """Grant ``role`` to ``principal`` everywhere, in one team, or on one asset.

    Granting at a scope needs ``binding.create`` at that scope, so a team-scoped admin cannot
    grant anything beyond its team; and nobody may bind a role to themselves.
    """
    if role not in ROLES:
        raise Invalid(f"'{role}' is not one of {', '.join(ROLES)}", field="role")
    with ctx.db.transaction() as session:
        scope_id, team_id, asset_id = _resolve_scope(session, scope, target)
        ctx.require("binding.create", team_id=team_id, asset_id=asset_id)
        who = principal_row(session, principal)
        if who.id == ctx.principal.id:
            raise Forbidden(
                f"{ctx.principal.name} may not bind a role to themselves: ask another admin",
                action="binding.create",
            )
        row = t.RoleBinding(
            id=new_id("binding"),
            principal_id=who.id,
            role=role,
            scope=scope,
            scope_id=scope_id,
            created_at=ctx.clock.now(),
        )
        session.add(row)
        flush_unique(session, f"binding of {role} to '{principal}' at that scope")
        record_change(
            session,
            ctx,
            action="binding.create",
            object_id=row.id,
            change={"principal": principal, "role": role, "scope": scope, "target": target},
            reason=reason,
            event="binding.created",
        )
        return _binding_record(session, row, who.name)


def unbind_role(ctx: Context, binding_id: str, *, reason: str = "") -> BindingRecord:
    """Remove a role binding (not the last enabled global platform-admin's)."""
    with ctx.db.transaction() as session:
        row = session.get(t.RoleBinding, binding_id)
        if row is None:
            raise NotFound(f"no role binding with id '{binding_id}'", field="binding")
        team_id, asset_id = _binding_team_asset(session, row)
        ctx.require("binding.delete", team_id=team_id, asset_id=asset_id)
        who = session.get(t.Principal, row.principal_id)
        assert who is not None
        if row.role == "platform-admin" and row.scope == "global":
            keep_an_admin(session, who.id, f"removing {who.name}'s global platform-admin")
        record = _binding_record(session, row, who.name)
        session.delete(row)
        record_change(
            session,
            ctx,
            action="binding.delete",
            object_id=binding_id,
            change={
                "principal": who.name,
                "role": row.role,
                "scope": row.scope,
                "scope_id": row.scope_id,
            },
            reason=reason,
            event="binding.deleted",
        )
        return record


def _binding_team_asset(session: Session, row: t.RoleBinding) -> tuple[str | None, str | None]:
    if row.scope == "team":
        return row.scope_id, None
    if row.scope == "asset":
        asset = session.get(t.Asset, row.scope_id)
        return (asset.team_id if asset else None), row.scope_id
    return None, None


def _binding_record(session: Session, row: t.RoleBinding, principal: str) -> BindingRecord:
    scope_name = None
    if row.scope == "team":
        team_row = session.get(t.Team, row.scope_id)
        scope_name = team_row.name if team_row else None
    elif row.scope == "asset":
        asset = session.get(t.Asset, row.scope_id)
        scope_name = f"{asset.kind}/{asset.name}" if asset else None
    return BindingRecord(
        row.id,
        principal,
        row.role,
        row.scope,
        row.scope_id or None,
        scope_name,
        as_utc(row.created_at),
    )


def list_bindings(ctx: Context, principal: str | None = None) -> list[BindingRecord]:
    """Role bindings the principal may read, optionally for one principal."""
    with ctx.db.read() as session:
        ctx.require_somewhere("binding.read")
        stmt = select(t.RoleBinding, t.Principal.name).join(
            t.Principal, t.Principal.id == t.RoleBinding.principal_id
        )
        if principal:
            stmt = stmt.where(t.Principal.id == principal_row(session, principal).id)
        out = []
        for row, name in session.execute(stmt.order_by(t.Principal.name, t.RoleBinding.role)).all():
            team_id, asset_id = _binding_team_asset(session, row)
            if ctx.can("binding.read", team_id=team_id, asset_id=asset_id):
                out.append(_binding_record(session, row, name))
        return out
