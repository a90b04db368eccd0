"""/api/v1: principals, role bindings, tokens, assets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from andon.api.deps import Ctx, CursorParam, Limit, page
from andon.api.schemas import AssetCreate, BindingCreate, PrincipalCreate, Reason, TokenCreate
from andon.auth import service as auth

router = APIRouter()


@router.get("/whoami", tags=["identity"])
def whoami(ctx: Ctx) -> dict[str, Any]:
    """The authenticated principal and its grants."""
    return auth.whoami(ctx)


@router.get("/principals", tags=["identity"])
def list_principals(ctx: Ctx, limit: Limit = 100, cursor: CursorParam = None) -> dict[str, Any]:
    """Principals by name."""
    return page(auth.list_principals(ctx), lambda p: p.name, cursor, limit)


@router.post("/principals", status_code=201, tags=["identity"])
def create_principal(ctx: Ctx, body: PrincipalCreate) -> dict[str, Any]:
    """Create a user, service or agent."""
    return auth.create_principal(
        ctx,
        body.name,
        kind=body.kind,
        display_name=body.display_name,
        email=body.email,
        reason=body.reason,
    ).as_dict()


@router.post("/principals/{name}/disable", tags=["identity"])
def disable_principal(
    ctx: Ctx, name: str, body: Reason = Body(default_factory=Reason)
) -> dict[str, Any]:
    """Disable a principal; its tokens stop working."""
    return auth.disable_principal(ctx, name, reason=body.reason).as_dict()


@router.get("/role-bindings", tags=["identity"])
def list_bindings(
    ctx: Ctx, principal: str | None = None, limit: Limit = 100, cursor: CursorParam = None
) -> dict[str, Any]:
    """Role bindings visible to the caller."""
    return page(auth.list_bindings(ctx, principal), lambda b: b.id, cursor, limit)


@router.post("/role-bindings", status_code=201, tags=["identity"])
def create_binding(ctx: Ctx, body: BindingCreate) -> dict[str, Any]:
    """Grant a role globally, on a team or on an asset."""
    return auth.bind_role(
        ctx, body.principal, body.role, scope=body.scope, target=body.target, reason=body.reason
    ).as_dict()


@router.delete("/role-bindings/{binding_id}", tags=["identity"])
def delete_binding(ctx: Ctx, binding_id: str) -> dict[str, Any]:
    """Remove a role binding."""
    return auth.unbind_role(ctx, binding_id).as_dict()


@router.get("/tokens", tags=["identity"])
def list_tokens(
    ctx: Ctx, principal: str | None = None, limit: Limit = 100, cursor: CursorParam = None
) -> dict[str, Any]:
    """Token metadata (never secrets)."""
    return page(auth.list_tokens(ctx, principal), lambda r: r.id, cursor, limit)


@router.post("/tokens", status_code=201, tags=["identity"])
def create_token(ctx: Ctx, body: TokenCreate) -> dict[str, Any]:
    """Issue a token; the secret is in this response only."""
    record, secret = auth.create_token(
        ctx,
        body.principal or ctx.principal.name,
        name=body.name,
        expires_in_days=body.expires_in_days,
        reason=body.reason,
    )
    return {**record.as_dict(), "token": secret}


@router.delete("/tokens/{token_id}", tags=["identity"])
def revoke_token(ctx: Ctx, token_id: str) -> dict[str, Any]:
    """Revoke a token."""
    return auth.revoke_token(ctx, token_id).as_dict()


@router.get("/assets", tags=["identity"])
def list_assets(
    ctx: Ctx, team: str | None = None, limit: Limit = 100, cursor: CursorParam = None
) -> dict[str, Any]:
    """Assets visible to the caller."""
    return page(auth.list_assets(ctx, team), lambda a: a.id, cursor, limit)


@router.post("/assets", status_code=201, tags=["identity"])
def register_asset(ctx: Ctx, body: AssetCreate) -> dict[str, Any]:
    """Register an asset owned by a team."""
    return auth.register_asset(ctx, body.kind, body.name, body.team, reason=body.reason).as_dict()
