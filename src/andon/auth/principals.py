"""Principals (users, services, agents): bootstrap, create, disable, list, whoami."""

from __future__ import annotations

from sqlalchemy import select

from andon.audit.service import record_change
from andon.auth.queries import check_principal_name, flush_unique, keep_an_admin, principal_row
from andon.auth.records import PrincipalRecord
from andon.core.clock import Clock, SystemClock, as_utc
from andon.core.config import Settings
from andon.core.context import SYSTEM, Context, Database
from andon.core.errors import Conflict, Invalid
from andon.core.ids import new_id
from andon.store.tables import auth as t

PRINCIPAL_KINDS = ("user", "service", "agent")


def _principal_record(row: t.Principal) -> PrincipalRecord:
    return PrincipalRecord(
        row.id,
        row.name,
        row.kind,
        row.display_name,
        row.email,
        row.disabled,
        as_utc(row.created_at),
    )


def bootstrap(db: Database, settings: Settings, admin: str, clock: Clock | None = None) -> bool:
    """Create the first principal as a global platform-admin; no-op once any principal exists.

    Returns whether the admin was created. This is the only change not made by a principal:
    it is audited as ``system``.
    """
    ctx = Context(db=db, settings=settings, principal=SYSTEM, clock=clock or SystemClock())
    check_principal_name(admin, "principal")
    with db.transaction() as session:
        if session.scalar(select(t.Principal.id).limit(1)) is not None:
            return False
        now = ctx.clock.now()
        pid = new_id("principal")
        session.add(
            t.Principal(
                id=pid, name=admin, kind="user", display_name="", disabled=False, created_at=now
            )
        )
        session.add(
            t.RoleBinding(
                id=new_id("binding"),
                principal_id=pid,
                role="platform-admin",
                scope="global",
                scope_id="",
                created_at=now,
            )
        )
        session.flush()
        record_change(
            session,
            ctx,
            action="principal.bootstrap",
            object_id=pid,
            change={"name": admin, "role": "platform-admin", "scope": "global"},
            reason="first administrator",
            event="principal.created",
        )
    return True


# --------------------------------------------------------------------------- principals


def create_principal(
    ctx: Context,
    name: str,
    *,
    kind: str = "user",
    display_name: str = "",
    email: str | None = None,
    reason: str = "",
) -> PrincipalRecord:
    """Create a user, service or agent principal."""
    check_principal_name(name, "name")
    if kind not in PRINCIPAL_KINDS:
        raise Invalid(f"'{kind}' is not one of {', '.join(PRINCIPAL_KINDS)}", field="kind")
    if email is not None and "@" not in email:
        raise Invalid(f"'{email}' is not an email address", field="email")
    with ctx.db.transaction() as session:
        ctx.require("principal.create")
        row = t.Principal(
            id=new_id("principal"),
            name=name,
            kind=kind,
            display_name=display_name,
            email=email,
            disabled=False,
            created_at=ctx.clock.now(),
        )
        session.add(row)
        flush_unique(session, f"principal '{name}'")
        record_change(
            session,
            ctx,
            action="principal.create",
            object_id=row.id,
            change={"name": name, "kind": kind},
            reason=reason,
            event="principal.created",
        )
        return _principal_record(row)


def disable_principal(ctx: Context, name: str, *, reason: str = "") -> PrincipalRecord:
    """Disable a principal: its tokens stop working at once.

    Refused (:class:`Conflict`) for the last enabled global platform-admin.
    """
    with ctx.db.transaction() as session:
        ctx.require("principal.disable")
        row = principal_row(session, name)
        if row.disabled:
            raise Conflict(f"principal '{name}' is already disabled")
        keep_an_admin(session, row.id, f"disabling '{name}'")
        row.disabled = True
        record_change(
            session,
            ctx,
            action="principal.disable",
            object_id=row.id,
            change={"name": name, "disabled": True},
            reason=reason,
            event="principal.disabled",
        )
        return _principal_record(row)


def list_principals(ctx: Context) -> list[PrincipalRecord]:
    """Every principal, by name."""
    with ctx.db.read() as session:
        ctx.require("principal.read")
        rows = session.scalars(select(t.Principal).order_by(t.Principal.name))
        return [_principal_record(r) for r in rows]


def whoami(ctx: Context) -> dict[str, object]:
    """The acting principal and its grants."""
    return {
        "id": ctx.principal.id,
        "name": ctx.principal.name,
        "kind": ctx.principal.kind,
        "grants": [{"role": g.role, "scope": g.scope, "scope_id": g.scope_id} for g in ctx.grants],
    }
