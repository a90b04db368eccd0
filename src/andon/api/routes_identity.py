"""/api/v1: who am I, principals, role bindings, tokens, assets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query

from andon.api import resources as r
from andon.api.deps import Ctx, CursorParam, Limit
from andon.api.paging import page
from andon.api.problems import responses
from andon.api.schemas import (
    AssetCreateBody,
    BindingCreateBody,
    PrincipalCreateBody,
    ReasonBody,
    TokenCreateBody,
)
from andon.auth import service as auth
from andon.auth.records import AssetRecord, BindingRecord, PrincipalRecord, TokenRecord

router = APIRouter(tags=["identity"])
NOT_FOUND = responses(404)
CHANGE = responses(404, 409)


@router.get("/whoami", response_model=r.WhoamiResponse)
def whoami(ctx: Ctx) -> dict[str, Any]:
    """The authenticated principal and its grants."""
    return auth.whoami(ctx)


@router.get("/principals", response_model=r.PrincipalPage)
def list_principals(ctx: Ctx, limit: Limit = 100, cursor: CursorParam = None) -> dict[str, Any]:
    """Principals by name."""
    return page("principals", auth.list_principals(ctx), lambda p: p.name, cursor, limit)


@router.post("/principals", status_code=201, response_model=PrincipalRecord, responses=CHANGE)
def create_principal(ctx: Ctx, body: PrincipalCreateBody) -> dict[str, Any]:
    """Create a user, service or agent."""
    return auth.create_principal(
        ctx,
        body.name,
        kind=body.kind,
        display_name=body.display_name,
        email=body.email,
        reason=body.reason,
    ).as_dict()


@router.post("/principals/{name}/disable", response_model=PrincipalRecord, responses=CHANGE)
def disable_principal(
    ctx: Ctx, name: str, body: ReasonBody = Body(default_factory=ReasonBody)
) -> dict[str, Any]:
    """Disable a principal; its tokens stop working at once."""
    return auth.disable_principal(ctx, name, reason=body.reason).as_dict()


@router.get("/role-bindings", response_model=r.BindingPage, responses=NOT_FOUND)
def list_bindings(
    ctx: Ctx,
    principal: str | None = Query(None, description="Only this principal's bindings."),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Role bindings visible to the caller, by id."""
    return page("role-bindings", auth.list_bindings(ctx, principal), lambda b: b.id, cursor, limit)


@router.post("/role-bindings", status_code=201, response_model=BindingRecord, responses=CHANGE)
def create_binding(ctx: Ctx, body: BindingCreateBody) -> dict[str, Any]:
    """Grant a role globally, on a team (target: its name) or on an asset (target: its id)."""
    return auth.bind_role(
        ctx, body.principal, body.role, scope=body.scope, target=body.target, reason=body.reason
    ).as_dict()


@router.delete("/role-bindings/{binding_id}", response_model=BindingRecord, responses=CHANGE)
def delete_binding(
    ctx: Ctx, binding_id: str, reason: str = Query("", max_length=2000)
) -> dict[str, Any]:
    """Remove a role binding; returns it as it was."""
    return auth.unbind_role(ctx, binding_id, reason=reason).as_dict()


@router.get("/tokens", response_model=r.TokenPage, responses=NOT_FOUND)
def list_tokens(
    ctx: Ctx,
    principal: str | None = Query(None, description="Whose tokens; default the caller's."),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Token metadata, by id; never secrets."""
    return page("tokens", auth.list_tokens(ctx, principal), lambda t: t.id, cursor, limit)


@router.post("/tokens", status_code=201, response_model=r.NewTokenResponse, responses=CHANGE)
def create_token(ctx: Ctx, body: TokenCreateBody) -> dict[str, Any]:
    """Issue a token (for another principal needs ``token.create``); the secret is shown once."""
    record, secret = auth.create_token(
        ctx,
        body.principal or ctx.principal.name,
        name=body.name,
        expires_in_days=body.expires_in_days,
        reason=body.reason,
    )
    return {**record.as_dict(), "token": secret}


@router.delete("/tokens/{token_id}", response_model=TokenRecord, responses=CHANGE)
def revoke_token(
    ctx: Ctx, token_id: str, reason: str = Query("", max_length=2000)
) -> dict[str, Any]:
    """Revoke a token at once."""
    return auth.revoke_token(ctx, token_id, reason=reason).as_dict()


@router.get("/assets", response_model=r.AssetPage, responses=NOT_FOUND)
def list_assets(
    ctx: Ctx,
    team: str | None = Query(None, description="Only this team's assets."),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Assets visible to the caller, by id."""
    return page("assets", auth.list_assets(ctx, team), lambda a: a.id, cursor, limit)


@router.post("/assets", status_code=201, response_model=AssetRecord, responses=CHANGE)
def register_asset(ctx: Ctx, body: AssetCreateBody) -> dict[str, Any]:
    """Register an asset owned by a team."""
    return auth.register_asset(ctx, body.kind, body.name, body.team, reason=body.reason).as_dict()
