"""The DuckDB engine of a check run, without Ibis: a plain DuckDB connection, the same views.

:class:`DirectDuckDB` opens the contract's tables exactly as
:class:`~andon.data.engines.DuckDBEngine` does (:func:`open_views`: one temp view per schema
object, the connection boxed to the dataset's files) and runs the statements of
:mod:`andon.data.duckdb_sql`, reading each result as Arrow like the Ibis engine. It also runs
custom SQL (vetted, time-limited) the same way. Each statement goes through
:func:`log_query`, which feeds Ibis's query log (``ibis.options.verbose``) when Ibis is loaded,
so the statements a check run sends stay observable in one place.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from andon.core.errors import NotFound
from andon.data.contracts import Contract, Server
from andon.data.duckdb_sql import Schema, Table, column_type, quote
from andon.data.sql_guard import SqlLimits, deadline, duckdb_failure, lock, one_select

NATIVE_TYPES = re.compile(
    r"BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE"
    r"|VARCHAR|DATE|TIMESTAMP|BLOB|DECIMAL\(\d+,\d+\)"
)
"""Result types whose values DuckDB's own fetch and Arrow's ``to_pylist`` give alike (bool,
int, float, str, date, naive datetime, bytes, Decimal); HUGEINT (int against Decimal), time
zones, intervals and nested types are read through Arrow."""


def log_query(sql: str) -> None:
    """Hand ``sql`` to Ibis's query log, as Ibis does for its own statements, if Ibis is
    loaded and verbose (it is never imported for this)."""
    ibis = sys.modules.get("ibis")
    options = getattr(ibis, "options", None)
    if options is not None and options.verbose:
        (options.verbose_log or print)(sql)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_views(
    con: Any,
    contract: Contract,
    server: Server,
    base_dir: Path,
    limits: SqlLimits,
    output: Path | None = None,
) -> dict[str, str]:
    """Create one temp view per schema object of ``contract`` on the DuckDB connection
    ``con`` and box it to the dataset's files (and the snapshot ``output``); the file of
    each view by name."""
    from andon.data.engines import engine_error, locate

    locations: dict[str, str] = {}

    def ddl(statement: str, table: str) -> None:
        import duckdb

        where = locations.get(table, server.path)
        try:
            con.execute(statement)
        except duckdb.CatalogException as exc:  # a DuckDB file without the table
            first = str(exc).strip().splitlines()[0]
            raise NotFound(f"{table} ({where}): no such table: {first}") from None
        except duckdb.Error as exc:
            raise engine_error(exc, f"{table} ({where})") from None

    # DuckDB draws a progress bar on stdout for long queries: it would corrupt JSON output.
    con.execute("SET enable_progress_bar = false")
    attached = False
    for obj in contract.schema:
        where = locate(server, obj, base_dir)
        locations[obj.name] = str(where)
        if server.type == "duckdb":
            if not attached:
                ddl(f"ATTACH {_literal(str(where))} AS src (READ_ONLY)", obj.name)
                attached = True
            body = f"SELECT * FROM src.{quote(server.schema)}.{quote(obj.physical_name)}"
        elif server.format == "csv":
            body = f"SELECT * FROM read_csv({_literal(str(where))})"
        elif server.format == "json":
            body = f"SELECT * FROM read_json({_literal(str(where))})"
        else:
            body = f"SELECT * FROM read_parquet({_literal(str(where))})"
        ddl(f"CREATE OR REPLACE TEMP VIEW {quote(obj.name)} AS {body}", obj.name)
    # From here on the connection reads the dataset's own files only (and writes only
    # the snapshot ``output``), and no statement can change that.
    files = set(locations.values())
    if server.type == "duckdb":
        files |= {f"{f}.wal" for f in files}
    lock(con, files | ({str(output)} if output else set()), limits)
    return locations


class DirectDuckDB:
    """An in-memory DuckDB with one view per schema object, queried in DuckDB's own SQL.

    It offers what :func:`andon.data.compile.run` asks of an engine; expressions of Ibis are
    not among them (see :mod:`andon.data.duckdb_sql`)."""

    name = "duckdb"
    direct = True

    def __init__(self, contract: Contract, server: Server, base_dir: Path, limits: SqlLimits):
        import duckdb

        self.contract, self.server, self.limits = contract, server, limits
        self.queries = 0
        self.con = duckdb.connect()
        try:
            # What Ibis's DuckDB backend sets on its connections, so values read the same.
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET python_enable_replacements = false")
            self.locations = open_views(self.con, contract, server, base_dir, limits)
        except BaseException:
            self.con.close()
            raise

    def version(self) -> str:
        """Engine name and version, recorded with dataset versions."""
        import duckdb

        return f"duckdb {duckdb.__version__}"

    def sql_table(self, name: str) -> str:
        """How custom SQL names schema object ``name``."""
        return quote(name)

    def quote(self, name: str) -> str:
        """An identifier quoted for DuckDB."""
        return quote(name)

    def table(self, name: str) -> Table:
        """Schema object ``name``'s view and its schema (read by ``DESCRIBE``, no rows);
        :class:`~andon.data.duckdb_sql.Unsupported` for a column type written by Ibis only."""
        import duckdb

        from andon.data.engines import engine_error

        try:
            described = self.con.execute(f"DESCRIBE {quote(name)}").fetchall()
        except duckdb.Error as exc:
            raise engine_error(exc, f"{name} ({self.locations.get(name, name)})") from None
        names = tuple(str(row[0]) for row in described)
        types = tuple(column_type(str(row[1]), row[2] == "YES") for row in described)
        return Table(name, Schema(names, types))

    def sql_rows(self, query: str, what: str) -> list[dict[str, Any]]:
        """The rows of one query (counted, logged), as the Ibis engine reads them (Arrow's
        Python values). A result of :data:`NATIVE_TYPES` only is fetched by DuckDB itself,
        which gives the same values without importing pyarrow (and numpy)."""
        import duckdb

        from andon.data.engines import engine_error

        self.queries += 1
        log_query(query)
        try:
            relation = self.con.sql(query)
            if all(NATIVE_TYPES.fullmatch(str(t)) for t in relation.types):
                names = relation.columns
                return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
            return list(relation.to_arrow_table().to_pylist())
        except duckdb.Error as exc:
            raise engine_error(exc, what) from None

    def vet_sql(self, query: str, what: str) -> None:
        """One SELECT by DuckDB's parser, then bound on the boxed connection: binding reads
        no row, and refuses a file, URL or extension outside the box before anything runs."""
        import duckdb

        one_select(query, what)
        try:
            self.con.sql(query)
        except duckdb.Error as exc:
            raise duckdb_failure(exc, what, self.limits) from None

    def first_row(self, query: str, what: str) -> dict[str, Any] | None:
        """The first row of a vetted custom SQL query (one query, within the time limit)."""
        import duckdb

        one_select(query, what)
        self.queries += 1
        log_query(query)
        try:
            with deadline(self.con.interrupt, self.limits.seconds, what):
                relation = self.con.sql(query)
                names = list(relation.columns)
                rows = relation.limit(1).fetchall()
        except duckdb.Error as exc:
            raise duckdb_failure(exc, what, self.limits) from None
        return dict(zip(names, rows[0], strict=True)) if rows else None

    def close(self) -> None:
        """Release the connection."""
        self.con.close()
