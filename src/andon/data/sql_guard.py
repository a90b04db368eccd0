"""The guard around custom SQL: a ``type: sql`` rule is one read-only SELECT, run in a box.

A contributor who may apply a contract writes the SQL of its ``type: sql`` rules, and the
server runs it. So the server decides, before anything runs, with the engine's own parser
(never by matching the text):

* **one statement, a SELECT**: DuckDB's parser (:func:`one_select`) must read the rule as
  exactly one statement of type SELECT (``WITH``, ``FROM``-first, ``VALUES`` included; ``COPY``,
  ``ATTACH``, ``INSTALL``, ``LOAD``, ``SET``, ``PRAGMA``, ``CALL``, ``CREATE``... and several
  statements are refused, naming the check). PostgreSQL's own parser gets the rule inside
  ``SELECT * FROM (...)`` over the extended protocol, which takes one statement only, in a
  ``READ ONLY`` transaction; Spark's parser must read it as a query, not a command.
* **only the contract's data** (DuckDB, :func:`lock`): once the views over the dataset's
  files exist, external access is switched off except for exactly those files, extension
  autoinstall and autoload are off, a memory limit is set, and the configuration is locked
  so no statement can undo any of it.
* **a time limit** (:func:`deadline`): DuckDB has no statement timeout, so a timer
  interrupts the connection; PostgreSQL uses ``statement_timeout``.
* **a number out, nothing else**: the result is a number or ``observed`` is null with the
  type that came back (never the value); an engine error that happens while the query runs
  is reported by its kind only, since its text may quote data (a failed cast quotes the
  value), and only errors about the query's own words (parse, bind) keep their text.

The limits are :class:`~andon.core.config.Settings` fields (``ANDON_SQL_TIMEOUT_SECONDS``,
``ANDON_SQL_MEMORY_LIMIT``), carried here as :class:`SqlLimits`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from andon.core.config import SQL_MEMORY_LIMIT, SQL_TIMEOUT_SECONDS, Settings
from andon.core.errors import AndonError, Invalid
from andon.data.contracts import Contract, Rule

_PLACEHOLDER = re.compile(r"\$?\{(object|property|table|column)\}")
HINT_SECONDS = "the limit is the setting ANDON_SQL_TIMEOUT_SECONDS"
HINT_MEMORY = "the limit is the setting ANDON_SQL_MEMORY_LIMIT"


@dataclass(frozen=True)
class SqlLimits:
    """How long one custom SQL query may run, and how much memory a DuckDB connection has."""

    seconds: float = SQL_TIMEOUT_SECONDS
    memory: str = SQL_MEMORY_LIMIT

    @classmethod
    def of(cls, settings: Settings) -> SqlLimits:
        """The limits ``settings`` configure."""
        return cls(settings.sql_timeout_seconds, settings.sql_memory_limit)


def fill(query: str, table: str, column: str | None, what: str) -> str:
    """``query`` with ``${object}``/``${table}`` and ``${property}``/``${column}`` replaced by
    the quoted ``table`` and ``column``; a trailing ``;`` dropped."""

    def sub(m: re.Match[str]) -> str:
        if m.group(1) in ("object", "table"):
            return table
        if column is None:
            raise Invalid(f"{what}: ${{property}} needs a property-level rule")
        return column

    return _PLACEHOLDER.sub(sub, query).strip().rstrip(";").strip()


def one_select(query: str, what: str) -> str:
    """The text of ``query`` when DuckDB's parser reads it as exactly one SELECT statement;
    :class:`Invalid` naming ``what`` otherwise (nothing is run)."""
    import duckdb

    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise Invalid(f"{_lead(what)}the SQL does not run: {_first_line(exc)}") from None
    refused = _refusal([s.type.name for s in statements], what)
    if refused is not None:
        raise refused
    return query


def _duckdb_kinds(query: str) -> list[str] | None:
    """The statement types DuckDB's parser reads in ``query``; ``None`` when it cannot."""
    import duckdb

    try:
        return [s.type.name for s in duckdb.extract_statements(query)]
    except duckdb.Error:
        return None


def _refusal(kinds: list[str], what: str) -> Invalid | None:
    if len(kinds) != 1:
        return Invalid(
            f"{_lead(what)}a sql rule is exactly one SELECT statement; this query has {len(kinds)}",
            hint="remove the other statements; andon runs nothing of a refused rule",
        )
    if kinds[0] != "SELECT":
        return _not_select(what, kinds[0])
    return None


_KIND_NAMES = {
    "LOAD": "INSTALL or LOAD",
    "VARIABLE_SET": "SET VARIABLE",
    "CREATE_FUNC": "CREATE MACRO",
    "COPY_DATABASE": "COPY DATABASE",
    "MERGE_INTO": "MERGE INTO",
    "MULTI": "multi-statement (such as PIVOT)",
}
"""DuckDB's statement types in the words a rule's author wrote."""


def _lead(what: str) -> str:
    return f"{what}: " if what else ""


def _not_select(what: str, kind: str) -> Invalid:
    name = _KIND_NAMES.get(kind, kind)
    return Invalid(
        f"{_lead(what)}a sql rule is one read-only SELECT; this query is "
        f"{'an' if name[:1] in 'AEIOU' else 'a'} {name} statement",
        hint="a sql rule may only read the contract's own tables",
    )


def vet_contract(contract: Contract) -> None:
    """Refuse, at apply, a ``type: sql`` rule DuckDB's parser reads as anything but one
    SELECT. A query DuckDB cannot parse is refused only when every server of the contract is
    read by DuckDB (another engine may speak a dialect DuckDB does not); the engine that
    runs it checks again at run time."""
    duckdb_only = all(s.engine == "duckdb" for s in contract.servers)
    for table, column, rule in _sql_rules(contract):
        if rule.query is None:
            continue
        where = f"{rule.path}.query"
        query = fill(rule.query, _quote(table), _quote(column) if column else None, where)
        if duckdb_only:
            try:
                one_select(query, "")
            except Invalid as exc:
                raise Invalid(exc.message, field=where, **exc.details) from None
            continue
        kinds = _duckdb_kinds(query)
        refused = _refusal(kinds, "") if kinds is not None else None
        if refused is not None:
            raise Invalid(refused.message, field=where, **refused.details)


def _sql_rules(contract: Contract) -> Iterable[tuple[str, str | None, Rule]]:
    for obj in contract.schema:
        for rule in obj.quality:
            if rule.type == "sql":
                yield obj.name, None, rule
        for prop in obj.properties:
            for rule in prop.quality:
                if rule.type == "sql":
                    yield obj.name, prop.name, rule


def lock(con: Any, paths: Iterable[str], limits: SqlLimits) -> None:
    """Box a DuckDB connection whose views already exist: it reads only ``paths`` (the
    dataset's files), installs and loads no extension, has ``limits.memory``, and cannot
    change any of it again (``lock_configuration``)."""
    allowed = sorted({str(p) for p in paths})
    listed = ", ".join(_literal(p) for p in allowed)
    con.execute(f"SET allowed_paths = [{listed}]")
    con.execute("SET allowed_directories = []")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET allow_community_extensions = false")
    con.execute(f"SET memory_limit = {_literal(limits.memory)}")
    con.execute("SET lock_configuration = true")


@contextmanager
def deadline(interrupt: Callable[[], None], seconds: float, what: str) -> Iterator[None]:
    """Run the block with ``interrupt`` called after ``seconds``; an error raised after the
    interrupt fired becomes one :class:`Invalid` naming ``what`` and the limit."""
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        yield
    except Exception:
        if fired.is_set():
            raise _too_slow(what, seconds) from None
        raise
    finally:
        timer.cancel()


def _too_slow(what: str, seconds: float) -> Invalid:
    return Invalid(
        f"{what}: the query ran longer than the {seconds:g} s limit and was stopped",
        hint=HINT_SECONDS,
    )


def duckdb_failure(exc: BaseException, what: str, limits: SqlLimits) -> AndonError:
    """A DuckDB error of custom SQL as one line that quotes no data: the engine's text only
    for errors about the query's own words (parse, bind, catalog), the kind otherwise."""
    import duckdb

    if isinstance(exc, duckdb.InterruptException):
        return _too_slow(what, limits.seconds)
    if isinstance(exc, duckdb.OutOfMemoryException):
        return Invalid(f"{what}: the query needs more than the {limits.memory} memory limit",
                       hint=HINT_MEMORY)  # fmt: skip
    if isinstance(exc, duckdb.PermissionException):
        return Invalid(
            f"{what}: the query reaches outside the contract's own data (files, network, "
            "extensions and settings are closed to sql rules)"
        )
    if isinstance(exc, duckdb.ParserException | duckdb.BinderException | duckdb.CatalogException):
        return Invalid(f"{what}: the SQL does not run: {_first_line(exc)}")
    return withheld(what, type(exc).__name__.removesuffix("Exception") + " error")


def postgres_failure(exc: BaseException, what: str, limits: SqlLimits) -> AndonError:
    """A PostgreSQL error of custom SQL as one line that quotes no data: the server's text
    only for SQLSTATE class 42 (syntax or access rule: about the query itself)."""
    import psycopg

    state = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return _too_slow(what, limits.seconds)
    if state.startswith("42"):
        return Invalid(f"{what}: the SQL does not run: {_first_line(exc)}")
    if state == "25006":  # read_only_sql_transaction
        return Invalid(f"{what}: a sql rule is one read-only SELECT; this query writes")
    name = type(exc).__name__
    return withheld(what, f"{name}, SQLSTATE {state}" if state else name)


def withheld(what: str, kind: str) -> Invalid:
    """A run-time failure of custom SQL by its kind only: the engine's text may quote data."""
    return Invalid(
        f"{what}: the query failed while running ({kind}); the engine's message is not "
        "shown because it may quote data",
        hint="run the query yourself against the data to see the engine's message",
    )


# --------------------------------------------------------------------------- PostgreSQL


def _wrapped(query: str) -> str:
    # A FROM subquery takes a SELECT (or VALUES) only, never a data-modifying statement; the
    # new lines keep a trailing comment in the rule from swallowing the closing parenthesis.
    return f"SELECT * FROM (\n{query}\n) AS andon_sql LIMIT 1"


def postgres_vet(con: Any, query: str, what: str) -> None:
    """Refuse custom SQL for PostgreSQL, running nothing: DuckDB's parser first (it reads
    PostgreSQL's grammar: a clear refusal of several statements or a non-SELECT), then the
    server's own parser on the statement that will run (a Parse message of the extended
    protocol: one statement, analysed, not executed)."""
    import psycopg

    kinds = _duckdb_kinds(query)
    refused = _refusal(kinds, what) if kinds is not None else None
    if refused is not None:
        raise refused
    result = con.pgconn.prepare(b"", _wrapped(query).encode())
    if result.status == psycopg.pq.ExecStatus.FATAL_ERROR:
        # Parse analysis evaluates nothing but the query's own literals: its text is safe.
        text = (result.error_field(psycopg.pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode(
            errors="replace"
        )
        raise Invalid(f"{what}: the SQL does not run: {text}")


def postgres_first_row(con: Any, query: str, what: str, limits: SqlLimits) -> dict[str, Any] | None:
    """The first row of vetted custom SQL on a psycopg connection: in a READ ONLY transaction
    with ``statement_timeout``, rolled back, over the extended protocol (binary results),
    which takes exactly one statement."""
    import psycopg

    timeout_ms = max(1, round(limits.seconds * 1000))
    try:
        with con.transaction(force_rollback=True), con.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
            cursor.execute(_wrapped(query), binary=True)
            row = cursor.fetchone()
            names = [c.name for c in cursor.description or []]
    except psycopg.Error as exc:
        raise postgres_failure(exc, what, limits) from None
    return dict(zip(names, row, strict=True)) if row is not None else None


# --------------------------------------------------------------------------- Spark


def spark_vet(session: Any, query: str, what: str, errors: tuple[type[BaseException], ...]) -> None:
    """Spark's own parser must read the rule as a query (``parseQuery``), not a command;
    parsing runs nothing (``session.sql`` would run a command at once)."""
    parser = session._jsparkSession.sessionState().sqlParser()
    try:
        parser.parseQuery(query)
    except errors as exc:
        try:
            plan = parser.parsePlan(query)
        except errors:
            raise Invalid(f"{what}: the SQL does not run: {_first_line(exc)}") from None
        raise _not_select(what, str(plan.nodeName())) from None


def spark_first_row(
    session: Any, query: str, what: str, errors: tuple[type[BaseException], ...], limits: SqlLimits
) -> dict[str, Any] | None:
    """The first row of custom SQL on a Spark session: vetted first, refused when its analysed
    plan calls Java by reflection, its jobs cancelled at the time limit; a run-time failure by
    its kind only."""
    import json
    import uuid

    from pyspark.errors import AnalysisException, ParseException

    spark_vet(session, query, what, errors)
    try:
        frame = session.sql(query)  # a vetted query: analysed, not run
        plan = json.loads(frame._jdf.queryExecution().analyzed().toJSON())
    except (AnalysisException, ParseException) as exc:
        raise Invalid(f"{what}: the SQL does not run: {_first_line(exc)}") from None
    except errors as exc:
        raise withheld(what, type(exc).__name__) from None
    called = _plan_classes(plan) & _SPARK_REFUSED
    if called:
        raise Invalid(
            f"{what}: a sql rule may not call Java methods (reflect, java_method); "
            "it may only read the contract's own tables"
        )
    context = session.sparkContext
    tag = f"andon-sql-{uuid.uuid4().hex}"
    context.addJobTag(tag)
    try:
        with deadline(lambda: context.cancelJobsWithTag(tag), limits.seconds, what):
            rows = frame.limit(1).toArrow().to_pylist()
    except errors as exc:  # a failed cast names the value: say the kind only
        raise withheld(what, type(exc).__name__) from None
    finally:
        context.removeJobTag(tag)
    return rows[0] if rows else None


_SPARK_REFUSED = frozenset({"CallMethodViaReflection", "TryReflect"})
"""Expression classes of an analysed Spark plan a rule may not hold: reflection calls any
static Java method with string arguments (``System.getenv``, ``System.exit``)."""


def _plan_classes(node: Any) -> set[str]:
    """The short class names of every node and expression of a plan's JSON form."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            name = item.get("class")
            if isinstance(name, str):
                found.add(name.rsplit(".", 1)[-1])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


# --------------------------------------------------------------------------- results


def number(value: Any) -> tuple[float | int | None, str]:
    """The number a rule returned, or ``None`` and a message naming only the type that came
    back (the value itself is never echoed)."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value, ""
    kinds = {"str": "text", "bool": "boolean", "bytes": "binary", "datetime": "timestamp",
             "dict": "struct", "list": "list", "date": "date"}  # fmt: skip
    name = type(value).__name__
    got = "no value (no row or NULL)" if value is None else f"a {kinds.get(name, name)} value"
    return None, f"the query must return one number; it returned {got}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
