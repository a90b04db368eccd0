"""Named connections: the only places the server sends a database's credentials.

A platform-admin declares a connection (``andon connection add NAME --type postgresql
--host H --port P --database D --user U --password-env VAR``; audited); a contract's server
names it in ``customProperties`` (``property: andonConnection``), or is bound to the one
connection declared for its ``host``, ``port`` and ``database``. At apply the server's own
``host``/``port``/``database`` must equal the connection's; at run
:func:`bind` fills the server from the stored connection, so host, port, database, user and
the password's variable come from here, never from the contract. Nobody reads a password
here: only the NAME of the environment variable that holds it is stored and shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.data.contracts import Contract, Server
from andon.data.credentials import has_uri_password
from andon.store.tables import connections as ct

CONNECTION_TYPES = ("postgresql",)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")
_LIST = "`andon connection list` shows the declared connections"


@dataclass(frozen=True)
class ConnectionRecord:
    """A connection as listed: the password's variable NAME, never its value."""

    name: str
    type: str
    host: str
    port: int
    database: str
    user: str
    password_env: str
    created_by: str
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields (the password's variable name only)."""
        return {
            "name": self.name, "type": self.type, "host": self.host, "port": self.port,
            "database": self.database, "user": self.user, "password_env": self.password_env,
            "created_by": self.created_by, "created_at": self.created_at.isoformat(),
        }  # fmt: skip


def _record(row: ct.Connection) -> ConnectionRecord:
    return ConnectionRecord(
        row.name, row.type, row.host, row.port, row.database, row.user, row.password_env,
        row.created_by, row.created_at,
    )  # fmt: skip


def _check(name: str, kind: str, host: str, port: int, database: str, user: str, env: str) -> None:
    for field, value in (("host", host), ("database", database), ("user", user)):
        if has_uri_password(value) or "@" in value:
            raise Invalid("must not hold a URI or a credential", field=field)
    if not _NAME.match(name):
        raise Invalid(f"{name!r} must be letters, digits, '_', '.' or '-'", field="name")
    if kind not in CONNECTION_TYPES:
        raise Invalid(f"{kind!r} is not one of {', '.join(CONNECTION_TYPES)}", field="type")
    if not _HOST.match(host):
        raise Invalid(f"{host!r} is not a host name or address", field="host")
    if isinstance(port, bool) or not 0 < port < 65536:
        raise Invalid(f"must be a port number (1 to 65535), not {port!r}", field="port")
    if not database.strip():
        raise Invalid("must name a database", field="database")
    if not user.strip():
        raise Invalid("must name a user", field="user")
    if not _ENV_NAME.match(env):
        raise Invalid(f"{env!r} must name an environment variable", field="password_env")


def add_connection(
    ctx: Context,
    name: str,
    *,
    type: str = "postgresql",
    host: str,
    port: int = 5432,
    database: str,
    user: str,
    password_env: str,
    reason: str = "",
) -> ConnectionRecord:
    """Declare the connection ``name`` (platform-admin); the password stays in ``password_env``."""
    with ctx.db.transaction() as session:
        ctx.require("connection.manage")
        _check(name, type, host, port, database, user, password_env)
        row = ct.Connection(
            id=new_id("connection"), name=name, type=type, host=host, port=port,
            database=database, user=user, password_env=password_env,
            created_by=ctx.principal.name, created_at=ctx.clock.now(),
        )  # fmt: skip
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"connection '{name}' already exists") from None
        record_change(
            session,
            ctx,
            action="connection.manage",
            object_id=row.id,
            change={
                "op": "add",
                "name": name,
                "type": type,
                "host": host,
                "port": port,
                "database": database,
                "user": user,
                "password_env": password_env,
            },
            reason=reason,
            event="connection.added",
        )
        return _record(row)


def list_connections(ctx: Context) -> list[ConnectionRecord]:
    """Every connection, by name (whoever may apply a contract somewhere may see them)."""
    with ctx.db.read() as session:
        ctx.require_somewhere("contract.apply")
        rows = session.scalars(select(ct.Connection).order_by(ct.Connection.name)).all()
        return [_record(r) for r in rows]


def remove_connection(ctx: Context, name: str, *, reason: str = "") -> None:
    """Remove the connection ``name`` (platform-admin); servers naming it stop running."""
    with ctx.db.transaction() as session:
        ctx.require("connection.manage")
        row = _row(session, name)
        session.delete(row)
        session.flush()
        record_change(
            session, ctx, action="connection.manage", object_id=row.id,
            change={"op": "remove", "name": name}, reason=reason, event="connection.removed",
        )  # fmt: skip


def _row(session: Session, name: str) -> ct.Connection:
    row = session.scalar(select(ct.Connection).where(ct.Connection.name == name))
    if row is None:
        raise NotFound(f"no connection named '{name}'", hint=_LIST)
    return row


def bind_server(server: Server, connection: ConnectionRecord, path: str) -> Server:
    """``server`` with host, port, database, user and password variable from ``connection``;
    :class:`Invalid` naming the field when the contract's own value differs."""
    if server.engine != "postgres":
        return server
    if connection.type != "postgresql":
        raise Invalid(
            f"connection '{connection.name}' is {connection.type}, not postgresql",
            field=f"{path}.connection",
        )
    for field, given, allowed in (
        ("host", server.host, connection.host),
        ("port", server.port, connection.port),
        ("database", server.database, connection.database),
    ):
        if given and given != allowed:
            raise Invalid(
                f"{given!r} is not the {field} of connection '{connection.name}'",
                field=f"{path}.{field}",
                hint=f"leave it out or give the connection's; {_LIST}",
            )
    return replace(
        server,
        host=connection.host,
        port=connection.port,
        database=connection.database,
        user=connection.user,
        password_env=connection.password_env,
        bound=True,
    )


def _connection_of(session: Session, server: Server, i: int) -> ConnectionRecord:
    """The connection a server names (``andonConnection``), or else the one declared for its
    host, port and database."""
    if server.connection:
        row = session.scalar(select(ct.Connection).where(ct.Connection.name == server.connection))
        if row is None:
            raise Invalid(
                f"no connection named '{server.connection}'",
                field=f"servers[{i}].customProperties",
                hint=_LIST,
            )
        return _record(row)
    rows = session.scalars(
        select(ct.Connection).where(
            ct.Connection.host == server.host,
            ct.Connection.port == server.port,
            ct.Connection.database == server.database,
        )
    ).all()
    if len(rows) == 1:
        return _record(rows[0])
    where = f"{server.host}:{server.port}/{server.database}"
    if not rows:
        raise Invalid(
            f"no connection is declared for {where}",
            field=f"servers[{i}]",
            hint=f"a platform-admin declares one with andon connection add; {_LIST}",
        )
    raise Invalid(
        f"{len(rows)} connections are declared for {where} "
        f"({', '.join(sorted(r.name for r in rows))}): name one with customProperties "
        "{property: andonConnection, value: NAME}",
        field=f"servers[{i}].customProperties",
    )


def bind(session: Session, contract: Contract) -> Contract:
    """``contract`` with each database server bound to the stored connection it names.

    Used at apply (a host or port no connection allows is refused there) and before every run,
    profile and snapshot; the engine opens only a bound server.
    """
    servers = []
    for i, server in enumerate(contract.servers):
        if server.engine == "postgres":
            server = bind_server(server, _connection_of(session, server, i), f"servers[{i}]")
        servers.append(server)
    return replace(contract, servers=tuple(servers))
