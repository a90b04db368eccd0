"""`andon principal|role|token|asset ...`: identity and least privilege."""

from __future__ import annotations

from enum import StrEnum

import typer

from andon.cli._shared import Format, FormatOption, ReasonOption, context, print_json, report, say

principal_app = typer.Typer(help="Users, services and agents.", no_args_is_help=True)
role_app = typer.Typer(
    help="Role bindings: a role, everywhere or on a team or asset.", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)
asset_app = typer.Typer(help="Assets and their owning teams.", no_args_is_help=True)


@principal_app.command("create")
def principal_create(
    name: str,
    kind: str = typer.Option("user", "--kind", help="user, service or agent."),
    display_name: str = typer.Option("", "--display-name"),
    email: str = typer.Option(None, "--email"),
    reason: str = ReasonOption,
) -> None:
    """Create a principal."""
    from andon.auth import service as auth

    p = auth.create_principal(
        context(), name, kind=kind, display_name=display_name, email=email, reason=reason
    )
    say(f"created {p.kind} [bold]{p.name}[/] ({p.id})")


@principal_app.command("list")
def principal_list(fmt: Format = FormatOption) -> None:
    """Every principal."""
    from andon.auth import service as auth

    report(
        fmt,
        auth.list_principals(context()),
        "principals",
        ["name", "kind", "display name", "disabled"],
        lambda p: (p.name, p.kind, p.display_name, "yes" if p.disabled else ""),
    )


@principal_app.command("disable")
def principal_disable(name: str, reason: str = ReasonOption) -> None:
    """Disable a principal; its tokens stop working."""
    from andon.auth import service as auth

    auth.disable_principal(context(), name, reason=reason)
    say(f"disabled {name}")


@role_app.command("bind")
def role_bind(
    principal: str,
    role: str,
    team: str = typer.Option(None, "--team", help="Scope the role to one team."),
    asset: str = typer.Option(None, "--asset", help="Scope the role to one asset id."),
    reason: str = ReasonOption,
) -> None:
    """Grant ROLE to PRINCIPAL (globally unless --team or --asset)."""
    from andon.auth import service as auth
    from andon.core.errors import Invalid

    if team and asset:
        raise Invalid("give --team or --asset, not both", field="--asset")
    scope = "team" if team else "asset" if asset else "global"
    b = auth.bind_role(context(), principal, role, scope=scope, target=team or asset, reason=reason)
    say(
        f"bound {b.role} to {b.principal} at {b.scope}{':' + b.scope_name if b.scope_name else ''} ({b.id})"
    )


@role_app.command("unbind")
def role_unbind(binding_id: str, reason: str = ReasonOption) -> None:
    """Remove a role binding by id."""
    from andon.auth import service as auth

    b = auth.unbind_role(context(), binding_id, reason=reason)
    say(f"removed {b.role} from {b.principal}")


@role_app.command("list")
def role_list(
    principal: str = typer.Option(None, "--principal"), fmt: Format = FormatOption
) -> None:
    """Role bindings you can see."""
    from andon.auth import service as auth

    report(
        fmt,
        auth.list_bindings(context(), principal),
        "role bindings",
        ["id", "principal", "role", "scope", "target"],
        lambda b: (b.id, b.principal, b.role, b.scope, b.scope_name),
    )


class Scope(StrEnum):
    """The scope a role binding is made at."""

    global_ = "global"
    team = "team"
    asset = "asset"


@role_app.command("roles")
def role_roles(
    scope: Scope = typer.Option(
        Scope.global_, "--scope", help="What a binding at this scope grants."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Every role and the permissions a binding of it at a scope grants (default: global)."""
    from andon.core.permissions import GLOBAL_ONLY, ROLES, TEAM_WIDE, scoped_actions

    if fmt is Format.json:
        print_json({r: sorted(scoped_actions(r, scope.value)) for r in ROLES})
        return
    say(f"What a role grants when bound at {scope.value} scope:")
    for role in ROLES:
        say(f"[bold]{role}[/]: {', '.join(sorted(scoped_actions(role, scope.value)))}")
    say(f"Only a global binding grants: {', '.join(sorted(GLOBAL_ONLY))}.")
    say(f"A team binding grants, an asset binding does not: {', '.join(sorted(TEAM_WIDE))}.")


@token_app.command("create")
def token_create(
    principal: str = typer.Option(None, "--principal", help="Whose token (default: yourself)."),
    name: str = typer.Option("", "--name", help="A label to recognise it by."),
    expires_in_days: int = typer.Option(None, "--expires-in-days"),
    reason: str = ReasonOption,
    fmt: Format = FormatOption,
) -> None:
    """Create a token; the secret is printed once and never stored."""
    from andon.auth import service as auth

    ctx = context()
    record, secret = auth.create_token(
        ctx,
        principal or ctx.principal.name,
        name=name,
        expires_in_days=expires_in_days,
        reason=reason,
    )
    if fmt is Format.json:
        print_json({**record.as_dict(), "token": secret})
        return
    say(f"token {record.id} for {record.principal} (shown once, keep it secret):")
    typer.echo(secret)


@token_app.command("revoke")
def token_revoke(token_id: str, reason: str = ReasonOption) -> None:
    """Revoke a token by id."""
    from andon.auth import service as auth

    record = auth.revoke_token(context(), token_id, reason=reason)
    say(f"revoked {record.id} of {record.principal}")


@token_app.command("list")
def token_list(
    principal: str = typer.Option(None, "--principal"), fmt: Format = FormatOption
) -> None:
    """Token ids and dates (never secrets)."""
    from andon.auth import service as auth

    report(
        fmt,
        auth.list_tokens(context(), principal),
        "tokens",
        ["id", "principal", "name", "created", "expires", "revoked"],
        lambda r: (
            r.id,
            r.principal,
            r.name,
            f"{r.created_at:%Y-%m-%d %H:%M}",
            r.expires_at and f"{r.expires_at:%Y-%m-%d}",
            r.revoked_at and f"{r.revoked_at:%Y-%m-%d %H:%M}",
        ),
    )


@asset_app.command("register")
def asset_register(
    kind: str, name: str, team: str = typer.Option(..., "--team"), reason: str = ReasonOption
) -> None:
    """Register an asset owned by a team."""
    from andon.auth import service as auth

    a = auth.register_asset(context(), kind, name, team, reason=reason)
    say(f"registered {a.kind} {a.name} for {a.team} ({a.id})")


@asset_app.command("list")
def asset_list(team: str = typer.Option(None, "--team"), fmt: Format = FormatOption) -> None:
    """Assets you can see."""
    from andon.auth import service as auth

    report(
        fmt,
        auth.list_assets(context(), team),
        "assets",
        ["id", "kind", "name", "team"],
        lambda a: (a.id, a.kind, a.name, a.team),
    )
