"""`andon connection ...`: the named database connections a contract's server refers to."""

from __future__ import annotations

import typer

from andon.cli._shared import Format, FormatOption, ReasonOption, context, report, say

app = typer.Typer(
    help="Named database connections (a contract names one; it never carries credentials).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    name: str,
    type_: str = typer.Option("postgresql", "--type", help="The server type: postgresql."),
    host: str = typer.Option(..., "--host", help="The host the server may connect to."),
    port: int = typer.Option(5432, "--port", help="Its port."),
    database: str = typer.Option(..., "--database", help="The database."),
    user: str = typer.Option(..., "--user", help="The user to connect as."),
    password_env: str = typer.Option(
        ..., "--password-env", help="The environment variable holding the password (its name)."
    ),
    reason: str = ReasonOption,
) -> None:
    """Declare a connection (platform-admin); the password stays in its variable."""
    from andon.data import connections

    found = connections.add_connection(
        context(), name, type=type_, host=host, port=port, database=database, user=user,
        password_env=password_env, reason=reason,
    )  # fmt: skip
    say(
        f"added connection [bold]{found.name}[/] ({found.type} at {found.host}:{found.port}/"
        f"{found.database} as {found.user}, password from ${found.password_env})"
    )


@app.command("list")
def list_(fmt: Format = FormatOption) -> None:
    """Connections a contract's server may name (never a password, only its variable)."""
    from andon.data import connections

    report(
        fmt,
        connections.list_connections(context()),
        "connections",
        ["name", "type", "host", "port", "database", "user", "password env"],
        lambda c: (c.name, c.type, c.host, c.port, c.database, c.user, c.password_env),
    )


@app.command("remove")
def remove(name: str, reason: str = ReasonOption) -> None:
    """Remove a connection (platform-admin); servers naming it no longer run."""
    from andon.data import connections

    connections.remove_connection(context(), name, reason=reason)
    say(f"removed connection {name}")
