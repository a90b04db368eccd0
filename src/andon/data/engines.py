"""Engines: one ODCS server entry, one Ibis backend, one interface for the check compiler.

The compiler (:mod:`andon.data.compile`) builds Ibis expressions; an :class:`Engine` opens
the tables of a contract on its server and runs those expressions, counting each query.

========  ===========================================  ==========================================
engine    server ``type``                              tables
========  ===========================================  ==========================================
duckdb    ``parquet``, ``csv``, ``local``, ``duckdb``  an in-memory DuckDB, one temp view per file
postgres  ``postgresql`` (or ``postgres``)             ``schema.physicalName`` on the server
spark     ``spark`` (the ``andon[spark]`` extra)       a local Spark session, one temp view a file
========  ===========================================  ==========================================

What differs between engines is kept here: how a server is reached, how identifiers are
quoted in custom SQL, which exceptions mean "the query failed", and the hash function behind
dataset-version fingerprints (DuckDB ``hash``, PostgreSQL ``hashtextextended`` of the text
form, Spark ``xxhash64``; a fingerprint is only comparable with one from the same engine, so
the engine is recorded with every dataset version).

Custom SQL (``type: sql`` rules) goes through :meth:`Engine.vet_sql` before anything runs and
:meth:`Engine.first_row` after: each engine's own parser decides that the rule is one
read-only SELECT, DuckDB connections are boxed to the dataset's files, and every engine
stops a query at the time limit (:mod:`andon.data.sql_guard`).

A PostgreSQL server is opened only once bound to its stored connection
(:mod:`andon.data.connections`): host, port, database, user and the password's environment
variable come from the connection, never from the contract; the password is passed to the
driver and never appears in a message.
"""

from __future__ import annotations

import os
import shutil
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from andon.core.errors import Invalid, NotFound, Unavailable
from andon.data.contracts import Contract, SchemaObject, Server
from andon.data.servers import READABLE
from andon.data.sql_guard import (
    SqlLimits,
    deadline,
    duckdb_failure,
    one_select,
    postgres_first_row,
    postgres_vet,
    spark_first_row,
    spark_vet,
)

CONNECT_TIMEOUT_SECONDS = 10
SPARK_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
"""The local Spark JVM's options unless ``ANDON_SPARK_JAVA_OPTIONS`` says otherwise: the quick
JIT only and the serial collector, which start and run a check run several times faster on a
small or busy machine (long CPU-bound jobs lose some peak speed)."""


def locate(server: Server, obj: SchemaObject, base_dir: Path) -> Path:
    """The file holding ``obj`` on a file server (relative paths: relative to ``base_dir``)."""
    path = Path(server.path).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if server.type == "duckdb":
        if not path.is_file():
            raise NotFound(f"server '{server.name}': no DuckDB file at {path}")
        return path
    fmt = server.format
    file = path / f"{obj.physical_name}.{fmt}" if path.is_dir() else path
    if not file.is_file():
        raise NotFound(f"{obj.name}: no {fmt} file at {file} (server '{server.name}')")
    return file


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def engine_error(exc: BaseException, what: str) -> Invalid:
    """A failed query as one actionable line."""
    full = str(exc).strip()
    text = full.splitlines()[0] if full else type(exc).__name__
    if "invalid unicode" in full.lower() or "not utf-8" in full.lower():
        line = text.removeprefix("Invalid Input Error: ")
        return Invalid(f"{what}: the file is not valid UTF-8 ({line}); convert it to UTF-8")
    return Invalid(f"{what}: {text}")


@cache
def _builtin(name: str, inputs: tuple[str, ...], output: str) -> Any:
    """An engine's built-in scalar function as an Ibis UDF (compiles to a plain call)."""
    import ibis  # type: ignore[import-untyped]

    # Ibis names the UDF's arguments after the Python function's parameters.
    def one(value: Any) -> Any:
        """Engine built-in."""

    def two(value: Any, seed: Any) -> Any:
        """Engine built-in."""

    fn = one if len(inputs) == 1 else two
    return ibis.udf.scalar.builtin(fn, name=name, signature=(inputs, output))


class Engine:
    """The tables of one contract on one server, and the queries run against them."""

    name = "engine"

    def __init__(self, contract: Contract, server: Server, limits: SqlLimits) -> None:
        self.contract, self.server, self.limits = contract, server, limits
        self.con: Any = None
        self.locations: dict[str, str] = {}
        self.queries = 0

    # -- what subclasses provide

    def errors(self) -> tuple[type[BaseException], ...]:
        """Exceptions that mean "this query failed" on this engine."""
        from ibis.common.exceptions import IbisError  # type: ignore[import-untyped]

        return (IbisError,)

    def version(self) -> str:
        """Engine name and version, recorded with dataset versions."""
        raise NotImplementedError

    def sql_table(self, name: str) -> str:
        """How custom SQL names schema object ``name``."""
        return _quote(name)

    def quote(self, name: str) -> str:
        """An identifier quoted for this engine's SQL."""
        return _quote(name)

    def _hash64(self, column: Any) -> Any:
        raise NotImplementedError

    # -- shared behaviour

    def table(self, name: str) -> Any:
        """The Ibis table of schema object ``name``."""
        from ibis.common.exceptions import TableNotFound

        obj = self.contract.table(name)
        assert obj is not None
        try:
            with quiet():
                return self._table(obj)
        except TableNotFound:
            raise NotFound(
                f"{name}: no table {self.locations.get(name, obj.physical_name)} "
                f"(server '{self.server.name}')"
            ) from None
        except self.errors() as exc:
            raise engine_error(exc, f"{name} ({self.locations.get(name, name)})") from None

    def _table(self, obj: SchemaObject) -> Any:
        return self.con.table(obj.name)

    def execute(self, expr: Any, what: str) -> list[dict[str, Any]]:
        """Run one Ibis expression (one query); rows as dicts."""
        self.queries += 1
        try:
            with quiet():
                return list(expr.to_pyarrow().to_pylist())
        except self.errors() as exc:
            raise engine_error(exc, what) from None

    def vet_sql(self, query: str, what: str) -> None:
        """Refuse custom SQL that is not exactly one read-only SELECT, running nothing."""
        one_select(query, what)

    def first_row(self, query: str, what: str) -> dict[str, Any] | None:
        """The first row of a vetted custom SQL query (one query, within the time limit), or
        ``None`` when it has none."""
        raise NotImplementedError

    def fingerprint_hash(self, column: Any) -> Any:
        """A 64-bit hash of each value of ``column`` (summed into the column's fingerprint)."""
        try:
            return self._hash64(column)
        except Exception:  # a type Ibis cannot name in a signature (all-NULL columns)
            return column.hash()

    def fingerprint_sum(self, column: Any) -> Any:
        """The column's fingerprint: the exact sum of its values' 64-bit hashes, as
        ``decimal(38,0)``. Widened before summing, which every engine can do without overflow;
        an engine whose SUM of 64-bit integers is already exact sums first (cheaper)."""
        return self.fingerprint_hash(column).cast("decimal(38,0)").sum()

    def write_parquet(self, name: str, path: Path) -> None:
        """Write schema object ``name`` to a zstd Parquet file at ``path``."""
        try:
            with quiet():
                self.table(name).to_parquet(path, compression="zstd")
        except self.errors() as exc:
            raise Invalid(f"cannot materialize {name}: {str(exc).splitlines()[0]}") from None

    def close(self) -> None:
        """Release the connection."""
        if self.con is not None:
            self.con.disconnect()


@contextmanager
def quiet() -> Iterator[None]:
    """Ibis 12 calls DuckDB 2's deprecated ``fetch_arrow_table``; keep that out of our output."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        yield


# --------------------------------------------------------------------------- DuckDB


class DuckDBEngine(Engine):
    """An in-memory DuckDB (through Ibis) with one view per schema object."""

    name = "duckdb"

    def __init__(
        self,
        contract: Contract,
        server: Server,
        base_dir: Path,
        limits: SqlLimits,
        output: Path | None = None,
    ) -> None:
        import ibis

        from andon.data.duckdb_direct import open_views

        super().__init__(contract, server, limits)
        self.con = ibis.duckdb.connect()
        self.locations = open_views(self.con.con, contract, server, base_dir, limits, output)

    def errors(self) -> tuple[type[BaseException], ...]:
        import duckdb

        return (duckdb.Error, *super().errors())

    def version(self) -> str:
        import duckdb

        return f"duckdb {duckdb.__version__}"

    def _hash64(self, column: Any) -> Any:
        # DuckDB's hash() is an unsigned 64-bit number. Ibis's own .hash() reinterprets it as
        # signed through a BIT cast, which costs about a second per 10M rows over 11 columns.
        return _builtin("hash", (str(column.type()),), "uint64")(column)

    def fingerprint_sum(self, column: Any) -> Any:
        # DuckDB sums 64-bit integers exactly, into HUGEINT: summing first and casting the one
        # total gives the same number as casting every hash, for a third of the time.
        return self.fingerprint_hash(column).sum().cast("decimal(38,0)")

    def vet_sql(self, query: str, what: str) -> None:
        """One SELECT by DuckDB's parser, then bound on the boxed connection: binding reads
        no row, and refuses a file, URL or extension outside the box before anything runs."""
        import duckdb

        one_select(query, what)
        try:
            with quiet():
                self.con.con.sql(query)
        except duckdb.Error as exc:
            raise duckdb_failure(exc, what, self.limits) from None

    def first_row(self, query: str, what: str) -> dict[str, Any] | None:
        # The vetted statement itself becomes a relation (binding it runs nothing); only its
        # first row is fetched, under the timer that interrupts the connection.
        import duckdb

        one_select(query, what)
        raw = self.con.con
        self.queries += 1
        self.con._log(query)
        try:
            with deadline(raw.interrupt, self.limits.seconds, what), quiet():
                relation = raw.sql(query)
                names = list(relation.columns)
                rows = relation.limit(1).fetchall()
        except duckdb.Error as exc:
            raise duckdb_failure(exc, what, self.limits) from None
        return dict(zip(names, rows[0], strict=True)) if rows else None

    def sql_rows(self, query: str, what: str) -> list[dict[str, Any]]:
        """The rows of one query andon wrote in DuckDB's SQL (counted, and logged where Ibis
        logs its own queries)."""
        import duckdb

        self.queries += 1
        self.con._log(query)
        try:
            with quiet():
                return list(self.con.con.sql(query).to_arrow_table().to_pylist())
        except duckdb.Error as exc:
            raise engine_error(exc, what) from None

    def execute(self, expr: Any, what: str) -> list[dict[str, Any]]:
        """Run one Ibis expression: compiled by Ibis (which logs it), run on the DuckDB
        connection and read as Arrow. Ibis's own ``to_pyarrow`` converts through its pandas
        formats, whose import (pandas) costs about 0.6 s of every check run."""
        self.queries += 1
        try:
            with quiet():
                sql = self.con.compile(expr)
                return list(self.con.con.sql(sql).to_arrow_table().to_pylist())
        except self.errors() as exc:
            raise engine_error(exc, what) from None

    def table_named(self, name: str) -> Any:
        """A table or view of the connection by its own name."""
        with quiet():
            return self.con.table(name)

    def write_parquet(self, name: str, path: Path) -> None:
        import duckdb

        try:
            self.con.raw_sql(
                f"COPY (SELECT * FROM {_quote(name)}) TO {_literal(str(path))} "
                "(FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)"
            )
        except duckdb.Error as exc:
            raise Invalid(f"cannot materialize {name}: {str(exc).splitlines()[0]}") from None


# --------------------------------------------------------------------------- PostgreSQL


class PostgresEngine(Engine):
    """A PostgreSQL server through Ibis's postgres backend (psycopg 3)."""

    name = "postgres"

    def __init__(self, contract: Contract, server: Server, limits: SqlLimits) -> None:
        import ibis
        import psycopg

        super().__init__(contract, server, limits)
        if not server.bound:  # a contract never chooses the host its credentials go to
            raise Invalid(
                f"server '{server.name}' is not bound to a declared connection",
                hint="`andon connection list` shows the declared connections",
            )
        user = server.user or None
        password = os.environ.get(server.password_env) or None
        try:
            self.con = ibis.postgres.connect(
                host=server.host,
                port=server.port,
                database=server.database,
                user=user,
                password=password,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="andon",
            )
        except psycopg.Error as exc:
            raise Unavailable(
                f"server '{server.name}' ({server.describe()}) is unreachable: "
                f"{_reason(exc, password)}"
            ) from None
        for obj in contract.schema:
            self.locations[obj.name] = (
                f"postgres://{server.host}:{server.port}/{server.database}/"
                f"{server.schema}.{obj.physical_name}"
            )

    def _table(self, obj: SchemaObject) -> Any:
        return self.con.table(obj.physical_name, database=self.server.schema)

    def errors(self) -> tuple[type[BaseException], ...]:
        import psycopg

        return (psycopg.Error, *super().errors())

    def version(self) -> str:
        major, minor = divmod(int(self.con.con.info.server_version), 10000)
        return f"postgres {major}.{minor}"

    def sql_table(self, name: str) -> str:
        obj = self.contract.table(name)
        physical = obj.physical_name if obj else name
        return f"{_quote(self.server.schema)}.{_quote(physical)}"

    def vet_sql(self, query: str, what: str) -> None:
        postgres_vet(self.con.con, query, what)

    def first_row(self, query: str, what: str) -> dict[str, Any] | None:
        # On the driver: Ibis 12's con.sql() drops its describe-view with a malformed statement.
        self.queries += 1
        self.con._log(query)  # what Ibis logs for its own queries (ibis.options.verbose)
        return postgres_first_row(self.con.con, query, what, self.limits)

    def _hash64(self, column: Any) -> Any:
        text = column.cast("string")
        return _builtin("hashtextextended", ("string", "int64"), "int64")(text, 0)


def _reason(exc: BaseException, password: str | None) -> str:
    """The driver's own reason, last line first-cut, with any password scrubbed."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    text = "; ".join(lines[:2]) if lines else type(exc).__name__
    if password:
        text = text.replace(password, "***")
    return text.removeprefix("connection failed: ")


# --------------------------------------------------------------------------- Spark

_spark_lock = threading.Lock()
_spark: list[Any] = []  # the process's one session, created on first use


def spark_missing_reason() -> str | None:
    """Why the Spark engine cannot start here, or ``None`` when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "the spark engine needs the andon[spark] extra (pip install 'andon[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and (Path(java_home) / "bin" / "java").exists()) and not shutil.which("java"):
        return "the spark engine needs Java 17 (apt-get install openjdk-17-jre-headless)"
    return None


def spark_session() -> Any:
    """The process's one local Spark session: small, UTC, UI off, bound to loopback."""
    from pyspark.sql import SparkSession

    with _spark_lock:
        if _spark:
            return _spark[0]
        builder = (
            SparkSession.builder.master("local[2]")
            .appName("andon")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config(
                "spark.driver.extraJavaOptions",
                os.environ.get("ANDON_SPARK_JAVA_OPTIONS", SPARK_JAVA_OPTIONS),
            )
        )
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        _spark.append(session)
        return session


def stop_spark() -> None:
    """Stop the process's Spark session, if one was started (the JVM goes with it)."""
    with _spark_lock:
        while _spark:
            _spark.pop().stop()


class SparkEngine(Engine):
    """A local Spark session (its own temp views) reading the server's files."""

    name = "spark"

    def __init__(
        self, contract: Contract, server: Server, base_dir: Path, limits: SqlLimits
    ) -> None:
        reason = spark_missing_reason()
        if reason:
            raise Unavailable(f"server '{server.name}': {reason}")
        import ibis

        super().__init__(contract, server, limits)
        # A new session shares the SparkContext but keeps its own temp views and settings;
        # SQL of this session cannot name a file directly (parquet.`/etc/...`).
        self.session = spark_session().newSession()
        self.session.conf.set("spark.sql.runSQLOnFiles", "false")
        self.con = ibis.pyspark.connect(self.session)
        for obj in contract.schema:
            where = locate(server, obj, base_dir)
            self.locations[obj.name] = str(where)
            try:
                if server.format == "csv":
                    frame = self.session.read.csv(str(where), header=True, inferSchema=True)
                elif server.format == "json":
                    frame = self.session.read.json(str(where))
                else:
                    frame = self.session.read.parquet(str(where))
                frame.createOrReplaceTempView(obj.name)
            except self.errors() as exc:
                raise engine_error(exc, f"{obj.name} ({where})") from None

    def errors(self) -> tuple[type[BaseException], ...]:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        return (PySparkException, Py4JError, *super().errors())

    def version(self) -> str:
        return f"spark {self.session.version}"

    def execute(self, expr: Any, what: str) -> list[dict[str, Any]]:
        # Ibis's to_pyarrow() goes through pandas (toPandas); Spark 4 hands Arrow over directly.
        self.queries += 1
        try:
            frame = self.session.sql(self.con.compile(expr))
            return list(frame.toArrow().to_pylist())
        except self.errors() as exc:
            raise engine_error(exc, what) from None

    def vet_sql(self, query: str, what: str) -> None:
        spark_vet(self.session, query, what, self.errors())

    def first_row(self, query: str, what: str) -> dict[str, Any] | None:
        self.queries += 1
        self.con._log(query)  # what Ibis logs for its own queries (ibis.options.verbose)
        return spark_first_row(self.session, query, what, self.errors(), self.limits)

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def sql_table(self, name: str) -> str:
        return self.quote(name)

    def _hash64(self, column: Any) -> Any:
        return _builtin("xxhash64", (str(column.type()),), "int64")(column)

    def write_parquet(self, name: str, path: Path) -> None:
        # Spark writes a folder of part files; a snapshot is one file: collect it as Arrow.
        import pyarrow.parquet as pq

        try:
            pq.write_table(self.session.table(name).toArrow(), path, compression="zstd")
        except self.errors() as exc:
            raise Invalid(f"cannot materialize {name}: {str(exc).splitlines()[0]}") from None

    def close(self) -> None:
        """Drop this run's temp views; the Spark session stays up for the next run."""
        for obj in self.contract.schema:
            self.session.catalog.dropTempView(obj.name)


def open_engine(
    contract: Contract,
    server: Server,
    base_dir: Path,
    *,
    limits: SqlLimits | None = None,
    output: Path | None = None,
) -> Engine:
    """Open the engine that reads ``server`` with the tables of ``contract``, its custom SQL
    held to ``limits`` (the defaults when ``None``); ``output`` is the one file a DuckDB
    engine may write (a snapshot's Parquet)."""
    limits = limits or SqlLimits()
    if not server.engine:
        raise Invalid(
            f"server '{server.name}' is {server.type}: andon reads {READABLE} servers",
            field="server",
            hint="add a server andon reads to the contract, or name one with --server",
        )
    match server.engine:
        case "postgres":
            return PostgresEngine(contract, server, limits)
        case "spark":
            return SparkEngine(contract, server, base_dir, limits)
    return DuckDBEngine(contract, server, base_dir, limits, output)
