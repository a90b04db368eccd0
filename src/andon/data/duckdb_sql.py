"""DuckDB SQL written directly for the check compiler, without Ibis.

``andon check run`` on a DuckDB server is a short process: importing Ibis, opening its
backend and building and compiling the expressions of :mod:`andon.data.compile` cost more
than a second before the first query (benchmarks/RESULTS.md). This module writes the same
statements Ibis compiles those expressions to (the same predicates, literals and
aggregates), so a check run on DuckDB gives the same verdicts, failed-row counts, samples and
dataset versions without importing Ibis at all.

It covers what it can render exactly: columns of the scalar types in :data:`SCALAR_TYPES` and
check arguments of the plain kinds (numbers, strings, booleans) that match their column. For
anything else :class:`Unsupported` is raised before any query runs, and the compiler runs the
contract through Ibis instead (tests/data/test_duckdb_sql.py holds the two paths equal).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from andon.data.checks import ROW_METRICS, SLA_KINDS, Check
from andon.data.units import UNIT_FACTORS

SCALAR_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "int8",
    "SMALLINT": "int16",
    "INTEGER": "int32",
    "BIGINT": "int64",
    "HUGEINT": "decimal(38, 0)",
    "UTINYINT": "uint8",
    "USMALLINT": "uint16",
    "UINTEGER": "uint32",
    "UBIGINT": "uint64",
    "FLOAT": "float32",
    "DOUBLE": "float64",
    "VARCHAR": "string",
    "DATE": "date",
    "TIMESTAMP": "timestamp(6)",
    "TIMESTAMP_S": "timestamp(0)",
    "TIMESTAMP_MS": "timestamp(3)",
    "TIMESTAMP_NS": "timestamp(9)",
    "TIMESTAMP WITH TIME ZONE": "timestamp('UTC', 6)",
    "TIME": "time",
    "TIME WITH TIME ZONE": "time",
    "BLOB": "binary",
    "UUID": "uuid",
    "INTERVAL": "interval('us')",
}
"""DuckDB's type names (as ``DESCRIBE`` writes them) and the Ibis type each reads as."""

_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


class Unsupported(Exception):
    """What this module cannot write exactly as Ibis would: run the contract through Ibis."""


@dataclass(frozen=True)
class ColumnType:
    """A column's type as the check compiler reads it: the name Ibis gives it (recorded in
    dataset versions) and the questions :func:`andon.data.checks.conforms` asks."""

    name: str
    nullable: bool = True

    def __str__(self) -> str:
        return self.name if self.nullable else "!" + self.name

    def is_string(self) -> bool:
        """Text."""
        return self.name == "string"

    def is_integer(self) -> bool:
        """A signed or unsigned integer (HUGEINT reads as a decimal, as in Ibis)."""
        return self.name.startswith(("int", "uint"))

    def is_floating(self) -> bool:
        """A binary floating-point number."""
        return self.name.startswith("float")

    def is_numeric(self) -> bool:
        """An integer, floating-point or decimal number."""
        return self.is_integer() or self.is_floating() or self.name.startswith("decimal")

    def is_boolean(self) -> bool:
        """True or false."""
        return self.name == "boolean"

    def is_date(self) -> bool:
        """A calendar date."""
        return self.name == "date"

    def is_timestamp(self) -> bool:
        """A point in time (with or without a time zone)."""
        return self.name.startswith("timestamp")

    def is_time(self) -> bool:
        """A time of day."""
        return self.name == "time"

    def is_struct(self) -> bool:
        """Never: nested types go through Ibis."""
        return False

    is_map = is_json = is_array = is_struct


def column_type(duckdb_type: str, nullable: bool) -> ColumnType:
    """The :class:`ColumnType` of a DuckDB type name, or :class:`Unsupported`."""
    name = SCALAR_TYPES.get(duckdb_type)
    if name is None:
        match = _DECIMAL.fullmatch(duckdb_type)
        if not match:
            raise Unsupported(f"column type {duckdb_type}")
        name = f"decimal({match[1]}, {match[2]})"
    return ColumnType(name, nullable)


@dataclass(frozen=True)
class Schema:
    """A table's columns in order, shaped like an Ibis schema (``names``, ``types``)."""

    names: tuple[str, ...]
    types: tuple[ColumnType, ...]

    def type_of(self, column: str) -> ColumnType:
        """The type of ``column``."""
        return self.types[self.names.index(column)]


@dataclass(frozen=True)
class Table:
    """A view of the direct DuckDB engine: its name and schema (the compiler's ``t``)."""

    name: str
    columns: Schema

    def schema(self) -> Schema:
        """The table's schema (as Ibis's ``Table.schema()``)."""
        return self.columns


def quote(name: str) -> str:
    """An identifier quoted for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A Python value as the DuckDB literal Ibis writes for it."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise Unsupported(f"literal {value!r}")


def _fits(kind: ColumnType, values: list[Any]) -> list[Any]:
    """``values`` when each is of the plain kind its column holds (else Ibis decides)."""
    for v in values:
        number = isinstance(v, int | float) and not isinstance(v, bool)
        ok = (
            (kind.is_string() and isinstance(v, str))
            or (kind.is_numeric() and number)
            or (kind.is_boolean() and isinstance(v, bool))
        )
        if not ok:
            raise Unsupported(f"value {v!r} for a {kind} column")
    return values


def predicate(schema: Schema, check: Check) -> str:
    """The condition selecting the rows that fail a row-level check (as Ibis writes it)."""
    col = quote(str(check.column))
    kind = schema.type_of(str(check.column))
    args = check.arguments
    match check.kind:
        case "nullValues":
            return f"{col} IS NULL"
        case "missingValues":
            missing = [v for v in args.get("missingValues", [None, ""]) if v is not None]
            if missing and kind.is_string():
                listed = ", ".join(literal(str(v)) for v in missing)
                return f"({col} IS NULL) OR {col} IN ({listed})"
            return f"{col} IS NULL"
        case "invalidValues":
            parts = ["FALSE"]
            if args.get("validValues") is not None:
                valid = _fits(kind, list(args["validValues"]))
                parts.append(f"NOT ({col} IN ({', '.join(literal(v) for v in valid)}))")
            if args.get("pattern") is not None:
                text = col if kind.is_string() else f"CAST({col} AS TEXT)"
                parts.append(f"NOT (REGEXP_MATCHES({text}, {literal(str(args['pattern']))}))")
            return f"({col} IS NOT NULL) AND ({' OR '.join(parts)})"
        case "outOfRange":
            parts = ["FALSE"]
            if args.get("minimum") is not None:
                parts.append(f"({col} < {literal(_fits(kind, [args['minimum']])[0])})")
            if args.get("maximum") is not None:
                parts.append(f"({col} > {literal(_fits(kind, [args['maximum']])[0])})")
            return f"({col} IS NOT NULL) AND ({' OR '.join(parts)})"
        case "unitMismatch":
            if not kind.is_numeric():
                raise Unsupported(f"unitMismatch on a {kind} column")
            factor = literal(float(args.get("factor") or UNIT_FACTORS[str(args["unit"])]))
            top = literal(_fits(kind, [args["maximum"]])[0])
            return f"({col} IS NOT NULL) AND ({col} > {top}) AND (({col} / {factor}) <= {top})"
    raise ValueError(f"{check.kind} has no row predicate")


def aggregate(t: Table, checks: list[Check]) -> str:
    """The one aggregate of a table: row count, per-column fingerprints (the exact sum of
    DuckDB's 64-bit ``hash``), and one value per check, named as the compiler reads them."""
    schema = t.columns
    aggs = ['COUNT(*) AS "__andon_rows"']
    for i, name in enumerate(schema.names):
        aggs.append(f'CAST(SUM(HASH({quote(name)})) AS DECIMAL(38, 0)) AS "__andon_fp{i}"')
    for i, check in enumerate(checks):
        if check.kind in ROW_METRICS:
            value = f"COUNT(*) FILTER(WHERE {predicate(schema, check)})"
        elif check.kind == "duplicateValues":
            if check.column:
                col = quote(check.column)
                value = f"COUNT({col}) - COUNT(DISTINCT {col})"
            else:
                cols = check.arguments.get("properties") or list(schema.names)
                key = ", ".join(f"{literal(c)}: {quote(c)}" for c in cols)
                value = f"COUNT(*) - COUNT(DISTINCT {{{key}}})"
        elif check.kind == "rowCount":
            value = "COUNT(*)"
        elif check.kind in SLA_KINDS:
            fn = "MIN" if check.kind == "retention" else "MAX"
            value = f"{fn}({quote(str(check.column))})"
        else:
            continue
        aggs.append(f'{value} AS "__andon_c{i}"')
    return f"SELECT {', '.join(aggs)} FROM {quote(t.name)}"


def samples(t: Table, sampled: list[Check], limit: int, search_rows: int) -> str:
    """One query: up to ``limit`` failing rows of each check, tagged ``__andon_check`` with its
    position in ``sampled``, as a UNION ALL. Duplicated keys are looked for in the first
    ``search_rows`` rows only, so no full GROUP BY is needed."""
    table = quote(t.name)
    parts = []
    for i, check in enumerate(sampled):
        if check.kind == "duplicateValues":
            cols = [check.column] if check.column else list(check.arguments.get("properties") or [])
            cols = cols or list(t.columns.names)
            listed = ", ".join(quote(c) for c in cols)
            on = " AND ".join(f"r.{quote(c)} = k.{quote(c)}" for c in cols)
            dupes = (
                f"SELECT {listed} FROM (SELECT * FROM {table} LIMIT {search_rows}) "
                f"GROUP BY {listed} HAVING COUNT(*) > 1 LIMIT {limit}"
            )
            body = f"SELECT r.* FROM {table} AS r SEMI JOIN ({dupes}) AS k ON {on} LIMIT {limit}"
        else:
            where = predicate(t.columns, check)
            body = f"SELECT * FROM {table} WHERE {where} LIMIT {limit}"
        parts.append(f'SELECT *, {i} AS "__andon_check" FROM ({body})')
    return " UNION ALL ".join(parts)


def orphans(a: Table, b: Table, mine: list[str], theirs: list[str], limit: int) -> str:
    """Up to ``limit`` rows of ``a`` whose non-null key has no match in ``b``'s non-null key,
    with their total count as the window column ``__andon_n``."""
    keys = ", ".join(f'{quote(c)} AS "__andon_k{i}"' for i, c in enumerate(theirs))
    key_present = " AND ".join(f"{quote(c)} IS NOT NULL" for c in theirs)
    present = " AND ".join(f"{quote(c)} IS NOT NULL" for c in mine)
    on = " AND ".join(f'p.{quote(c)} = k."__andon_k{i}"' for i, c in enumerate(mine))
    return (
        f"SELECT p.*, COUNT(*) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) "
        f'AS "__andon_n" FROM (SELECT * FROM {quote(a.name)} WHERE {present}) AS p '
        f"ANTI JOIN (SELECT DISTINCT {keys} FROM {quote(b.name)} WHERE {key_present}) AS k "
        f"ON {on} LIMIT {limit}"
    )
