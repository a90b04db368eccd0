"""API tokens a principal holds: issue, revoke, list (the secret's format is in :mod:`tokens`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from andon.audit.service import record_change
from andon.auth import tokens
from andon.auth.queries import principal_row
from andon.auth.records import TokenRecord
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.store.tables import auth as t


def _token_record(row: t.ApiToken, principal: str) -> TokenRecord:
    return TokenRecord(
        row.id,
        principal,
        row.name,
        as_utc(row.created_at),
        as_utc(row.expires_at) if row.expires_at else None,
        as_utc(row.revoked_at) if row.revoked_at else None,
    )


def create_token(
    ctx: Context,
    principal: str,
    *,
    name: str = "",
    expires_in_days: int | None = None,
    reason: str = "",
) -> tuple[TokenRecord, str]:
    """Issue an API token; returns the record and the secret, which is never stored or shown again.

    Anyone may issue a token for themselves; issuing for another principal needs ``token.create``.
    """
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise Invalid("must be between 1 and 3650 days", field="expires_in_days")
    if len(name) > 100:
        raise Invalid("must be at most 100 characters", field="name")
    with ctx.db.transaction() as session:
        if principal != ctx.principal.name:
            ctx.require("token.create")
        who = principal_row(session, principal)
        if who.disabled:
            raise Conflict(f"principal '{principal}' is disabled")
        secret = tokens.generate()
        now = ctx.clock.now()
        row = t.ApiToken(
            id=new_id("token"),
            principal_id=who.id,
            name=name,
            token_hash=tokens.hash_token(secret),
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        session.add(row)
        session.flush()
        record_change(
            session,
            ctx,
            action="token.create",
            object_id=row.id,
            change={"principal": principal, "name": name, "expires_in_days": expires_in_days},
            reason=reason,
            event="token.created",
        )
        return _token_record(row, who.name), secret


def revoke_token(ctx: Context, token_id: str, *, reason: str = "") -> TokenRecord:
    """Revoke a token at once; one's own tokens need no extra permission."""
    with ctx.db.transaction() as session:
        row = session.get(t.ApiToken, token_id)
        if row is None:
            raise NotFound(f"no token with id '{token_id}'", field="token")
        if row.principal_id != ctx.principal.id:
            ctx.require("token.revoke")
        if row.revoked_at is not None:
            raise Conflict(f"token {token_id} is already revoked")
        row.revoked_at = ctx.clock.now()
        who = session.get(t.Principal, row.principal_id)
        assert who is not None
        record_change(
            session,
            ctx,
            action="token.revoke",
            object_id=row.id,
            change={"principal": who.name},
            reason=reason,
            event="token.revoked",
        )
        return _token_record(row, who.name)


def list_tokens(ctx: Context, principal: str | None = None) -> list[TokenRecord]:
    """Token metadata (never secrets): one's own, or anyone's with ``principal.read``."""
    with ctx.db.read() as session:
        target = principal or ctx.principal.name
        if target != ctx.principal.name:
            ctx.require("principal.read")
        who = principal_row(session, target)
        rows = session.scalars(
            select(t.ApiToken)
            .where(t.ApiToken.principal_id == who.id)
            .order_by(t.ApiToken.created_at)
        )
        return [_token_record(r, who.name) for r in rows]
