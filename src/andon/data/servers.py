"""A contract's ``servers[]``: where its data lives, as the ODCS standard writes it.

========================  ==========================================  =======================
ODCS ``type``             fields andon reads                          engine
========================  ==========================================  =======================
``duckdb``                ``database`` (the file), ``schema``         DuckDB (``main``)
``local``                 ``path``, ``format`` (parquet, csv, json)   DuckDB
``postgresql``/``postgres``  ``host``, ``port``, ``database``,        PostgreSQL
                          ``schema``
``custom``                ``path``, ``format``, and customProperties  Spark (``andon[spark]``)
                          ``{property: andonEngine, value: spark}``
========================  ==========================================  =======================

A relative ``path`` or ``database`` is relative to the contract file; a ``path`` that is a
folder holds one file per table, ``<physicalName>.<format>``. A database server is reached
through a connection a platform-admin declared (:mod:`andon.data.connections`): the one its
customProperties name (``andonConnection``), or else the one whose host, port and database
are the server's. Every other standard type (``s3``, ``snowflake``, ...) is read as valid
ODCS and refused only when a run needs it, naming what andon reads. Credentials never
belong in a contract (:mod:`andon.data.credentials`).

andon's pre-standard shapes (``type: parquet``/``csv``/``spark``, a DuckDB ``path``, the
``connection`` custom property) are still read here and rewritten by
``andon contract upgrade``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from andon.data.credentials import SECRET_KEYS, server_connection
from andon.data.problems import Problems, one_of, text_field

FILE_FORMATS = ("parquet", "csv", "json")
ENGINES = ("duckdb", "spark")
"""What a ``custom`` server's ``andonEngine`` may name."""

READABLE = "duckdb, local, postgresql and custom (Spark)"
_LEGACY_FILE_TYPES = ("parquet", "csv", "spark")


@dataclass(frozen=True)
class Server:
    """Where a contract's data lives (file fields or database fields, by ``type``)."""

    name: str
    type: str
    path: str  # the file or folder of a file server (duckdb: the database file)
    format: str
    host: str = ""  # as the contract gives it ("" when not), until bound to its connection
    port: int = 0
    database: str = ""
    schema: str = "public"
    connection: str = ""
    # Set only by binding to the stored connection (andon.data.connections.bind).
    user: str = ""
    password_env: str = ""
    bound: bool = False
    via: str = "duckdb"  # the engine that reads it; "" when andon reads no such server
    path_key: str = "path"  # the document field ``path`` came from

    @property
    def engine(self) -> str:
        """The engine that reads this server: ``duckdb``, ``postgres``, ``spark`` or ``""``."""
        return self.via

    @property
    def is_file(self) -> bool:
        """Whether the server is a local file or folder (confined to the team's data roots)."""
        return self.via in ENGINES and bool(self.path)

    def describe(self) -> str:
        """Where the server is, for messages (never a credential)."""
        if self.engine == "postgres":
            return f"postgres at {self.host}:{self.port}/{self.database} (connection {self.connection!r})"
        return f"{self.type} at {self.path}" if self.path else f"{self.type} server"


def _custom(raw: dict[str, Any], key: str) -> Any:
    for prop in raw.get("customProperties") or []:
        if isinstance(prop, dict) and prop.get("property") == key:
            return prop.get("value")
    return None


def _file_server(
    raw: dict[str, Any], name: str, kind: str, path: str, problems: Problems
) -> Server:
    key = "database" if kind == "duckdb" and "database" in raw else "path"
    location = text_field(raw, key, f"{path}.", problems, required=True)
    if kind == "duckdb":
        schema = text_field(raw, "schema", f"{path}.", problems, required=False) or "main"
        return Server(name, kind, location, "duckdb", schema=schema, path_key=key)
    legacy = {"parquet": "parquet", "csv": "csv"}.get(kind)
    fmt = raw.get("format", legacy or ("parquet" if kind in ("local", "spark") else None))
    if fmt not in FILE_FORMATS:
        problems.add(f"{path}.format", one_of(fmt, FILE_FORMATS))
    via = "duckdb"
    if kind == "spark":
        via = "spark"
    elif kind == "custom":
        engine = _custom(raw, "andonEngine")
        if engine not in ENGINES:
            problems.add(
                f"{path}.customProperties",
                f"a custom server names its engine: {{property: andonEngine, value: spark}} "
                f"(one of {', '.join(ENGINES)}), not {engine!r}",
            )
        via = str(engine or "")
    return Server(name, kind, location, str(fmt), via=via)


def _database_server(
    raw: dict[str, Any], name: str, kind: str, path: str, problems: Problems
) -> Server:
    connection = _custom(raw, "andonConnection") or server_connection(raw) or ""
    if not isinstance(connection, str):
        problems.add(
            f"{path}.customProperties",
            f"andonConnection must name a connection, not {connection!r}",
        )
        connection = ""
    host = text_field(raw, "host", f"{path}.", problems, required=not connection)
    database = text_field(raw, "database", f"{path}.", problems, required=not connection)
    schema = text_field(raw, "schema", f"{path}.", problems, required=False) or "public"
    port = raw.get("port", 0 if connection else 5432)
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        problems.add(f"{path}.port", f"must be a port number (1 to 65535), not {port!r}")
        port = 0
    return Server(name, kind, "", "", host, port, database, schema, connection, via="postgres")


def parse_server(raw: Any, path: str, problems: Problems) -> Server | None:
    """One ``servers[]`` entry, its problems added to ``problems``."""
    if not isinstance(raw, dict):
        problems.add(path, "must be a mapping")
        return None
    name = text_field(raw, "server", f"{path}.", problems, required=True)
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        problems.add(f"{path}.type", "is required")
        return None
    for key in SECRET_KEYS:
        if key in raw:
            problems.add(
                f"{path}.{key}",
                "credentials do not belong in a contract: name a connection a platform-admin "
                "declared (andon connection list)",
            )
    if kind in ("postgresql", "postgres"):
        return _database_server(raw, name, kind, path, problems)
    if kind in ("duckdb", "local", "custom", *_LEGACY_FILE_TYPES):
        return _file_server(raw, name, kind, path, problems)
    return Server(
        name,
        kind,
        str(raw.get("location") or raw.get("path") or ""),
        str(raw.get("format") or ""),
        via="",
    )
