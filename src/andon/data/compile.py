"""The check compiler: every single-table check of a table in ONE Ibis aggregate.

For each table of a contract the engine builds one aggregate holding the row count, one
count per row-level check (``COUNT(*) FILTER (WHERE <failing>)``), ``COUNT - COUNT DISTINCT``
per uniqueness check, ``MAX`` of each freshness column, and the per-column content
fingerprints of the dataset version (:mod:`andon.data.versions`), so one scan both checks the
data and identifies the version it read. Then:

* one query per table *only when* some row-level check failed: the failing sample rows of
  every failed check, up to 10 each, as one ``UNION ALL`` of ``LIMIT 10`` branches (sample
  rows of a uniqueness check come from keys duplicated within the first 1,000,000 rows, so
  this query never needs a full ``GROUP BY``; the failed-row count itself is exact);
* one query per cross-table check (``missingJoins``): the orphan rows, with their total count
  as a window column, so the count and the samples come back together;
* one query per custom SQL check, each vetted by the engine's parser before the first scan
  (one read-only SELECT; see :mod:`andon.data.sql_guard`) and held to its time limit; its
  result is a number, or ``observed`` is null with the type that came back.

Schema conformance (missing, extra and mistyped columns) needs no query: it compares the
contract with the table's schema. The expressions are plain Ibis, so the same plan runs on
every engine of :mod:`andon.data.engines` (DuckDB, PostgreSQL, Spark) with the same query
count. On a DuckDB server the same statements are written as DuckDB SQL directly
(:mod:`andon.data.duckdb_sql`, run by :class:`~andon.data.duckdb_direct.DirectDuckDB`), so a
check run does not import Ibis; what that writer cannot render exactly goes through Ibis.
Heavy libraries (Ibis, DuckDB) are imported here only, inside functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from andon.core.errors import Invalid, NotFound
from andon.data import duckdb_sql
from andon.data.checks import (
    REFERENCE_KINDS,
    ROW_METRICS,
    SLA_KINDS,
    Check,
    Result,
    conforms,
    plan,
)
from andon.data.contracts import Contract, SchemaObject, Server
from andon.data.duckdb_direct import DirectDuckDB
from andon.data.duckdb_sql import Unsupported
from andon.data.engines import Engine, open_engine
from andon.data.sql_guard import SqlLimits, fill, number
from andon.data.units import UNIT_FACTORS

Source = Engine | DirectDuckDB
"""What a check run reads through: an Ibis engine, or DuckDB without Ibis."""

SAMPLE_LIMIT = 10
DUPLICATE_SEARCH_ROWS = 1_000_000
MASK = "***"


@dataclass
class TableScan:
    """What one scan of one table saw: the dataset version's identity."""

    name: str
    location: str
    columns: list[tuple[str, str]]
    row_count: int
    fingerprints: dict[str, str]
    engine: str = "duckdb"

    @property
    def schema_hash(self) -> str:
        """SHA-256 of the ordered (column, type) list."""
        from andon.core.canonical import digest

        return digest([list(c) for c in self.columns])

    @property
    def version_id(self) -> str:
        """Content-derived id: the same schema and data give the same id, in any row order."""
        from andon.core.canonical import digest

        body = {"schema": self.schema_hash, "rows": self.row_count, "fp": self.fingerprints}
        return "dv_" + digest(body)[:26]


@dataclass
class Scan:
    """A whole contract run: per-table versions, results, and how many queries it took."""

    contract: Contract
    server: Server
    tables: dict[str, TableScan]
    results: list[Result]
    queries: int = 0
    seconds: float = 0.0


# --------------------------------------------------------------------------- compiling


def _bad(t: Any, check: Check) -> Any:
    """The predicate selecting the rows that fail a row-level check."""
    import ibis  # type: ignore[import-untyped]

    col = t[check.column]
    args = check.arguments
    match check.kind:
        case "nullValues":
            return col.isnull()
        case "missingValues":
            missing = [v for v in args.get("missingValues", [None, ""]) if v is not None]
            pred = col.isnull()
            if missing and col.type().is_string():
                pred = pred | col.isin([str(v) for v in missing])
            return pred
        case "invalidValues":
            pred = ibis.literal(False)
            if args.get("validValues") is not None:
                valid = args["validValues"]
                pred = pred | ~col.isin(valid)
            if args.get("pattern") is not None:
                text = col if col.type().is_string() else col.cast("string")
                pred = pred | ~text.re_search(str(args["pattern"]))
            return col.notnull() & pred
        case "outOfRange":
            pred = ibis.literal(False)
            if args.get("minimum") is not None:
                pred = pred | (col < args["minimum"])
            if args.get("maximum") is not None:
                pred = pred | (col > args["maximum"])
            return col.notnull() & pred
        case "unitMismatch":
            factor = float(args.get("factor") or UNIT_FACTORS[str(args["unit"])])
            top = args["maximum"]
            return col.notnull() & (col > top) & (col / factor <= top)
    raise ValueError(f"{check.kind} has no row predicate")


def _check_columns(checks: list[Check], schemas: dict[str, Any], source: Source) -> list[Check]:
    """Refuse explicit checks on columns the table lacks; drop implied ones (schema reports)."""
    kept = []
    for check in checks:
        refs = [(check.table, check.column)] if check.column else []
        refs += [(check.table, c) for c in check.arguments.get("properties") or []]
        if check.kind in REFERENCE_KINDS:
            refs = [(check.table, c) for c in check.arguments["from_columns"]]
            refs += [(check.arguments["to_table"], c) for c in check.arguments["to_columns"]]
        missing = [(tb, c) for tb, c in refs if c not in schemas[tb].names]
        if not missing:
            kept.append(check)
            continue
        if check.implied:
            continue
        tb, c = missing[0]
        raise Invalid(
            f"check {check.name}: the contract references column '{c}', which {tb} "
            f"({source.locations[tb]}) lacks; its columns: {', '.join(schemas[tb].names)}"
        )
    return kept


def _schema_results(obj: SchemaObject, schema: Any) -> list[Result]:
    declared = {p.name: p for p in obj.properties}
    actual = dict(zip(schema.names, schema.types, strict=True))
    missing = [n for n in declared if n not in actual]
    extra = [n for n in actual if n not in declared]
    wrong = [
        {"column": n, "expected": p.logical_type, "actual": str(actual[n])}
        for n, p in declared.items()
        if n in actual and not conforms(p.logical_type, actual[n])
    ]
    out = []
    for suffix, severity, items, samples in (
        ("missing_columns", "error", missing, [{"column": n} for n in missing]),
        ("extra_columns", "warning", extra, [{"column": n, "actual": str(actual[n])} for n in extra]),
        ("column_types", "error", [w["column"] for w in wrong], wrong),
    ):  # fmt: skip
        out.append(
            Result(
                f"{obj.name}.schema.{suffix}", obj.name, None, "schema",
                "fail" if items else "pass", severity, len(items), {"mustBe": 0, "unit": "columns"},
                None, samples, ", ".join(items),
            )
        )  # fmt: skip
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _sample_row(row: dict[str, Any], pii: set[str]) -> dict[str, Any]:
    return {
        k: (MASK if k in pii and v is not None else _jsonable(v))
        for k, v in row.items()
        if not k.startswith("__andon")
    }


def _fingerprint(value: Any) -> str:
    return f"{int(value or 0) % (1 << 64):016x}"


def _observed(check: Check, failed: int, rows: int) -> float:
    if check.unit == "percent":
        return round(100.0 * failed / rows, 6) if rows else 0.0
    return failed


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise Invalid(f"freshness needs a timestamp, got {type(value).__name__}")


def _aggregate(source: Engine, obj: SchemaObject, t: Any, checks: list[Check]) -> dict[str, Any]:
    """The one aggregate row of a table (Ibis's expression of what duckdb_sql writes)."""
    import ibis

    schema = t.schema()
    aggs: dict[str, Any] = {"__andon_rows": t.count()}
    for i, name in enumerate(schema.names):
        aggs[f"__andon_fp{i}"] = source.fingerprint_sum(t[name])
    for i, check in enumerate(checks):
        key = f"__andon_c{i}"
        if check.kind in ROW_METRICS:
            aggs[key] = t.count(where=_bad(t, check))
        elif check.kind == "duplicateValues":
            if check.column:
                aggs[key] = t[check.column].count() - t[check.column].nunique()
            else:
                cols = check.arguments.get("properties") or list(schema.names)
                key_expr = ibis.struct({c: t[c] for c in cols})
                aggs[key] = t.count() - key_expr.nunique()
        elif check.kind == "rowCount":
            aggs[key] = t.count()
        elif check.kind in SLA_KINDS:
            column = t[check.column]
            aggs[key] = column.min() if check.kind == "retention" else column.max()
    [row] = source.execute(t.aggregate(**aggs), f"{obj.name} ({source.locations[obj.name]})")
    return row


def _scan_table(
    source: Source, obj: SchemaObject, t: Any, checks: list[Check], now: datetime
) -> tuple[TableScan, list[Result]]:
    schema = t.schema()
    what = f"{obj.name} ({source.locations[obj.name]})"
    if isinstance(source, DirectDuckDB):
        [row] = source.sql_rows(duckdb_sql.aggregate(t, checks), what)
    else:
        row = _aggregate(source, obj, t, checks)
    rows = int(row["__andon_rows"])
    scan = TableScan(
        obj.name,
        str(source.locations[obj.name]),
        [(n, str(ty)) for n, ty in zip(schema.names, schema.types, strict=True)],
        rows,
        {n: _fingerprint(row[f"__andon_fp{i}"]) for i, n in enumerate(schema.names)},
        source.version(),
    )
    results: list[Result] = []
    sampled: list[tuple[Check, Result]] = []
    for i, check in enumerate(checks):
        value = row[f"__andon_c{i}"]
        failed: int | None
        if check.kind in SLA_KINDS:
            failed = None
            observed, ok, message = _service_level(check, _as_utc(value), now)
        elif check.kind == "rowCount":
            observed, failed = int(value), None
            ok = check.passes(observed)
        else:
            failed = int(value or 0)
            observed = _observed(check, failed, rows)
            ok = check.passes(observed)
        result = Result(
            check.name, obj.name, check.column, check.kind, "pass" if ok else "fail",
            check.severity, observed, check.threshold_dict(), failed,
        )  # fmt: skip
        if check.kind in SLA_KINDS:
            result.message = message
        results.append(result)
        if not ok and failed and check.kind in (*ROW_METRICS, "duplicateValues"):
            sampled.append((check, result))
    if sampled:
        _fetch_samples(source, obj, t, sampled)
    return scan, results


def _age(seconds: float) -> str:
    """An age in the unit a person reads it in."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _service_level(check: Check, value: datetime | None, now: datetime) -> tuple[Any, bool, str]:
    """``(observed, ok, message)`` of an SLA check from the newest (oldest) value."""
    column, args = check.column, check.arguments
    if value is None:
        return None, False, f"{check.table}.{column} holds no value to measure"
    if check.kind == "timeOfAvailability":
        offset = timedelta(minutes=int(args["offset_minutes"]))
        local_now = now.astimezone(UTC) + offset
        due = local_now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
            minutes=int(args["at_minutes"])
        )
        # Once today's time has passed, today's data must be there; before it, yesterday's.
        day = due.date() if local_now >= due else (due - timedelta(days=1)).date()
        newest = (value + offset).date()
        ok = newest >= day
        said = "passed" if local_now >= due else "not yet passed"
        return (
            value.isoformat(),
            ok,
            f"newest {column} is of {newest}; {args['value']} has {said} today, so data of "
            f"{day} is due",
        )
    age = round((now - value).total_seconds(), 3)
    which = "oldest" if check.kind == "retention" else "newest"
    return (
        age,
        check.passes(age),
        f"{which} {column} is {_age(age)} old ({check.kind} {args['value']} {args['unit']})",
    )


def _fetch_samples(
    source: Source, obj: SchemaObject, t: Any, sampled: list[tuple[Check, Result]]
) -> None:
    """One query: up to SAMPLE_LIMIT failing rows per failed check, as a UNION ALL."""
    pii = {p.name for p in obj.properties if p.pii}
    if isinstance(source, DirectDuckDB):
        checks = [check for check, _ in sampled]
        sql = duckdb_sql.samples(t, checks, SAMPLE_LIMIT, DUPLICATE_SEARCH_ROWS)
        found = source.sql_rows(sql, f"{obj.name} samples")
    else:
        found = _ibis_samples(source, t, sampled, f"{obj.name} samples")
    for row in found:
        _, result = sampled[row["__andon_check"]]
        result.samples.append(_sample_row(row, pii))


def _ibis_samples(
    source: Engine, t: Any, sampled: list[tuple[Check, Result]], what: str
) -> list[Any]:
    import ibis

    parts = []
    for i, (check, _) in enumerate(sampled):
        if check.kind == "duplicateValues":
            cols = [check.column] if check.column else list(check.arguments.get("properties") or [])
            if not cols:
                cols = list(t.schema().names)
            # Duplicated keys are looked for in the first DUPLICATE_SEARCH_ROWS rows only: a
            # full GROUP BY would cost a second scan (the count above is exact regardless).
            head = t.limit(DUPLICATE_SEARCH_ROWS)
            dupes = (
                head.group_by(cols)
                .aggregate(__andon_n=head.count())
                .filter(ibis._.__andon_n > 1)
                .limit(SAMPLE_LIMIT)
            )
            part = t.semi_join(dupes.select(cols), cols)
        else:
            part = t.filter(_bad(t, check))
        parts.append(part.limit(SAMPLE_LIMIT).mutate(__andon_check=ibis.literal(i)))
    expr = parts[0] if len(parts) == 1 else ibis.union(*parts)
    return source.execute(expr, what)


def _references(source: Source, check: Check, tables: dict[str, Any], rows: int) -> Result:
    """One query: the rows whose non-null key has no match in the referenced key, with their
    total count as a window column (a composite key with any NULL part is not compared)."""
    a, b = tables[check.table], tables[check.arguments["to_table"]]
    mine, theirs = check.arguments["from_columns"], check.arguments["to_columns"]
    if isinstance(source, DirectDuckDB):
        sql = duckdb_sql.orphans(a, b, mine, theirs, SAMPLE_LIMIT)
        found = source.sql_rows(sql, check.name)
    else:
        found = _ibis_orphans(source, a, b, mine, theirs, check.name)
    failed = int(found[0]["__andon_n"]) if found else 0
    observed = _observed(check, failed, rows)
    ok = check.passes(observed)
    obj = source.contract.table(check.table)
    pii = {p.name for p in obj.properties if p.pii} if obj else set()
    return Result(
        check.name, check.table, check.column, check.kind, "pass" if ok else "fail",
        check.severity, observed, check.threshold_dict(), failed,
        [] if ok else [_sample_row(r, pii) for r in found],
        f"{failed} of {rows} rows have no match in {check.arguments['to']}",
    )  # fmt: skip


def _ibis_orphans(
    source: Engine, a: Any, b: Any, mine: list[str], theirs: list[str], what: str
) -> list[Any]:
    keys = b.select(**{f"__andon_k{i}": b[c] for i, c in enumerate(theirs)})
    for i in range(len(theirs)):
        keys = keys.filter(keys[f"__andon_k{i}"].notnull())
    keys = keys.distinct()
    present = a
    for column in mine:
        present = present.filter(present[column].notnull())
    orphans = present.anti_join(
        keys, [present[c] == keys[f"__andon_k{i}"] for i, c in enumerate(mine)]
    )
    orphans = orphans.mutate(__andon_n=orphans.count().over(ibis_window()))
    return source.execute(orphans.limit(SAMPLE_LIMIT), what)


def ibis_window() -> Any:
    """The whole-partition window (count over all rows)."""
    import ibis

    return ibis.window()


def _sql_of(source: Source, check: Check) -> str:
    column = source.quote(check.column) if check.column else None
    return fill(str(check.query), source.sql_table(check.table), column, f"check {check.name}")


def _custom_sql(source: Source, check: Check) -> Result:
    row = source.first_row(_sql_of(source, check), f"check {check.name}")
    value, problem = number(next(iter(row.values()), None) if row else None)
    if value is None:
        return Result(
            check.name, check.table, check.column, "sql", "error", check.severity, None,
            check.threshold_dict(), None, [], problem,
        )  # fmt: skip
    ok = check.passes(value)
    return Result(
        check.name, check.table, check.column, "sql", "pass" if ok else "fail", check.severity,
        value, check.threshold_dict(),
    )  # fmt: skip


def _single_table(checks: list[Check], obj: SchemaObject) -> list[Check]:
    return [c for c in checks if c.table == obj.name and c.kind not in ("sql", *REFERENCE_KINDS)]


def _open(
    contract: Contract, chosen: Server, base_dir: Path, limits: SqlLimits | None, direct: bool
) -> tuple[Source, list[Check], dict[str, Any], dict[str, Any], list[Check]]:
    """The engine, the plan, the tables and their schemas, and the checks that apply: no
    query has run yet. A DuckDB server is opened without Ibis when ``direct`` and everything
    in it can be written as DuckDB SQL exactly as Ibis would (:mod:`andon.data.duckdb_sql`);
    otherwise through Ibis."""
    source: Source
    if direct and chosen.engine == "duckdb":
        source = DirectDuckDB(contract, chosen, base_dir, limits or SqlLimits())
    else:
        source = open_engine(contract, chosen, base_dir, limits=limits)
    try:
        planned = plan(contract)
        for check in planned:
            if check.kind == "sql":
                source.vet_sql(_sql_of(source, check), f"check {check.name}")
        tables = {obj.name: source.table(obj.name) for obj in contract.schema}
        schemas = {name: t.schema() for name, t in tables.items()}
        checks = _check_columns(planned, schemas, source)
        if isinstance(source, DirectDuckDB):
            for obj in contract.schema:  # raises Unsupported before the first query
                duckdb_sql.aggregate(tables[obj.name], _single_table(checks, obj))
    except Unsupported:
        source.close()
        return _open(contract, chosen, base_dir, limits, direct=False)
    except BaseException:
        source.close()
        raise
    return source, planned, tables, schemas, checks


def run(
    contract: Contract,
    base_dir: Path,
    *,
    now: datetime,
    server: str | None = None,
    limits: SqlLimits | None = None,
    via_ibis: bool = False,
) -> Scan:
    """Run every check of ``contract`` against ``server``; nothing is stored here. Custom SQL
    is vetted before the first scan and held to ``limits``. A DuckDB server is checked with
    DuckDB SQL written here unless ``via_ibis`` (the same results; tests compare the two)."""
    import time

    started = time.perf_counter()
    chosen = contract.server(server)
    source, _, tables, schemas, checks = _open(contract, chosen, base_dir, limits, not via_ibis)
    try:
        results: list[Result] = []
        scans: dict[str, TableScan] = {}
        for obj in contract.schema:
            results += _schema_results(obj, schemas[obj.name])
            mine = _single_table(checks, obj)
            scan, found = _scan_table(source, obj, tables[obj.name], mine, now)
            scans[obj.name] = scan
            results += found
        for check in checks:
            if check.kind in REFERENCE_KINDS:
                results.append(_references(source, check, tables, scans[check.table].row_count))
            elif check.kind == "sql":
                results.append(_custom_sql(source, check))
        for item in contract.unchecked:
            results.append(
                Result(item.name, item.table, item.column, item.kind[:40], "not_checked",
                       "warning", None, {}, None, [], item.reason)
            )  # fmt: skip
        return Scan(
            contract, chosen, scans, results, source.queries, time.perf_counter() - started,
        )  # fmt: skip
    finally:
        source.close()


def fingerprint_only(
    contract: Contract,
    base_dir: Path,
    table: str,
    server: str | None,
    limits: SqlLimits | None = None,
) -> TableScan:
    """One aggregate computing a table's version (row count and column fingerprints)."""
    chosen = contract.server(server)
    obj = contract.table(table)
    if obj is None:
        raise NotFound(f"contract '{contract.id}' has no schema object '{table}'")
    single = replace(contract, schema=(obj,), slas=(), relationships=(), unchecked=())
    source = open_engine(single, chosen, base_dir, limits=limits)
    try:
        scan, _ = _scan_table(source, obj, source.table(obj.name), [], datetime.now(UTC))
        return scan
    finally:
        source.close()
