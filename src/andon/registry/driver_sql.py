"""SQL written once, run on the session's connection: the registry's hot reads.

Hot reads (run listings, ``model show``) run SQL on the driver (``exec_driver_sql``):
SQLAlchemy Core costs about 35 µs a statement, as much as the query itself, and each read is
one or two statements (benchmarks/registry.py). The SQL uses ``?`` marks; :func:`driver_sql`
turns them into the driver's. Columns come back as the driver returns them: :func:`utc_value`
and :func:`json_value` read timestamps and JSON on both backends.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from andon.core.clock import as_utc

if TYPE_CHECKING:
    from sqlalchemy import Connection


def driver_sql(conn: Connection, sql: str) -> str:
    """``sql`` with its ``?`` marks in the driver's parameter style."""
    return sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def utc_value(value: datetime | str) -> datetime:
    """A timestamp column as aware UTC: SQLite returns naive UTC text, PostgreSQL datetimes."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def json_value(value: Any) -> Any:
    """A JSON column: SQLite returns its text, PostgreSQL the parsed value."""
    return json.loads(value) if isinstance(value, str) else value
