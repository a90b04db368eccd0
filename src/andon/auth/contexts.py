"""How a caller becomes a :class:`Context`: by principal name (local CLI) or by bearer token."""

from __future__ import annotations

from sqlalchemy import select

from andon.auth import tokens
from andon.auth.queries import grants_of
from andon.core.clock import Clock, SystemClock, as_utc
from andon.core.config import Settings
from andon.core.context import Context, Database
from andon.core.context import Principal as Actor
from andon.core.errors import Unauthenticated
from andon.store.tables import auth as t


def context_for(
    db: Database, settings: Settings, principal: str, clock: Clock | None = None
) -> Context:
    """A context acting as the named principal (the local CLI's way in)."""
    with db.read() as session:
        row = session.scalar(select(t.Principal).where(t.Principal.name == principal))
        if row is None:
            raise Unauthenticated(
                f"no principal named '{principal}'",
                field="ANDON_PRINCIPAL",
                hint="set ANDON_PRINCIPAL to an existing one, "
                "or run `andon init` to create the first admin",
            )
        if row.disabled:
            raise Unauthenticated(f"principal '{principal}' is disabled")
        grants = grants_of(session, row.id)
        actor = Actor(row.id, row.name, row.kind)
    return Context(
        db=db, settings=settings, principal=actor, grants=grants, clock=clock or SystemClock()
    )


def authenticate(
    db: Database, settings: Settings, bearer: str, clock: Clock | None = None
) -> Context:
    """The context for an ``Authorization: Bearer`` token, or :class:`Unauthenticated`."""
    clock = clock or SystemClock()
    if not tokens.is_well_formed(bearer):
        raise Unauthenticated("malformed token: expected andon_ followed by 43 characters")
    with db.read() as session:
        row = session.execute(
            select(t.ApiToken, t.Principal)
            .join(t.Principal, t.Principal.id == t.ApiToken.principal_id)
            .where(t.ApiToken.token_hash == tokens.hash_token(bearer))
        ).one_or_none()
        if row is None:
            raise Unauthenticated("unknown token")
        token, principal = row
        if token.revoked_at is not None:
            raise Unauthenticated(f"token {token.id} was revoked")
        if token.expires_at is not None and as_utc(token.expires_at) <= clock.now():
            raise Unauthenticated(f"token {token.id} expired")
        if principal.disabled:
            raise Unauthenticated(f"principal '{principal.name}' is disabled")
        grants = grants_of(session, principal.id)
        actor = Actor(principal.id, principal.name, principal.kind)
    return Context(db=db, settings=settings, principal=actor, grants=grants, clock=clock)
