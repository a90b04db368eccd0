"""One read-only SQL statement over both tiers, as the views ``spans``, ``metrics``, ``logs``.

The statement runs on a fresh in-memory DuckDB connection that can reach only what the
principal may read, enforced by the connection's configuration and not by looking at the text:

* the hot files of the readable teams are attached ``READ_ONLY`` (no other team's file is
  attached, so no name in the statement can reach it);
* the views union those files with the teams' cold Parquet files, and then the connection is
  locked (:func:`andon.data.sql_guard.lock`): external access off except for exactly those
  cold files, no extension installed or loaded, a memory limit, ``lock_configuration`` so no
  statement can undo any of it;
* a remote cold tier (``ANDON_TELEMETRY_COLD_URL``) is read through its fsspec filesystem,
  registered on the connection (``register_filesystem``); DuckDB checks every path it opens
  through it against the same ``allowed_paths``, so the listed files are all it reaches;
* DuckDB's own parser must read the text as exactly one SELECT (no ``COPY``, ``ATTACH``,
  ``INSTALL``/``LOAD``, ``SET``, ``PRAGMA``, writes or several statements);
* a timer interrupts a statement past the time limit.

Hot rows that a move has already written to a cold file are left out of the views, so a day
in the middle of moving is counted once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from andon.core.errors import Invalid
from andon.data.sql_guard import SqlLimits, deadline, duckdb_failure, lock, one_select
from andon.telemetry import cold, hot, tiers
from andon.telemetry.cold import ColdStore
from andon.telemetry.hot import columns, names
from andon.telemetry.schema import SCHEMAS

MAX_ROWS = 10_000
"""The most rows a query returns (the result says when it was cut)."""


@dataclass(frozen=True)
class QueryResult:
    """The rows a query returned, and whether there were more."""

    table: pa.Table
    truncated: bool
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamps and dates as ISO text)."""
        rows = self.table.to_pylist()
        for row in rows:
            for key, value in row.items():
                if hasattr(value, "isoformat"):
                    row[key] = value.isoformat()
        return {
            "columns": [f.name for f in self.table.schema],
            "rows": rows,
            "truncated": self.truncated,
            "seconds": round(self.seconds, 4),
        }


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _attach(con: Any, path: Path, alias: str, wait: float = hot.LOCK_WAIT_SECONDS) -> None:
    hot.while_locked(
        lambda: con.execute(f"ATTACH {_quote(str(path))} AS {alias} (READ_ONLY)"), path, wait
    )


def connect(home: Path, teams: list[str], limits: SqlLimits, store: ColdStore | None = None) -> Any:
    """A locked in-memory connection whose ``spans``, ``metrics`` and ``logs`` views hold the
    rows of ``teams`` in both tiers (the cold one ``store``, by default under ``home``) and
    nothing else."""
    import duckdb

    store = store or cold.local(home)
    con = duckdb.connect(":memory:")
    # Before any view reads a file: DuckDB would otherwise try to load httpfs for s3:// paths.
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    if store.fs is not None:
        con.register_filesystem(store.fs)
    attached = [team for team in teams if hot.path_of(home, team).exists()]
    for i, team in enumerate(attached):
        _attach(con, hot.path_of(home, team), f"hot{i}")
    allowed: list[str] = []
    for signal, schema in SCHEMAS.items():
        cols = names(schema)
        parts = []
        files = tiers.cold_files(store, signal, teams)
        # A hot row leaves the view once its move's cold file exists (never NOT IN (NULL),
        # which would hide the rows of a move planned but not yet written).
        moved = ", ".join(_quote(p.stem) for p in files)
        written = f"move_id IS NULL OR move_id NOT IN ({moved})" if moved else "true"
        for i in range(len(attached)):
            parts.append(f"SELECT {cols} FROM hot{i}.{signal} WHERE {written}")
        if files:
            listed = ", ".join(_quote(store.url(p)) for p in files)
            parts.append(f"SELECT {cols} FROM read_parquet([{listed}], hive_partitioning = false)")
            for p in files:
                allowed.extend(store.allowed(p))
        if not parts:
            con.execute(f"CREATE TEMP TABLE empty_{signal} ({columns(schema)})")
            parts.append(f"SELECT {cols} FROM empty_{signal}")
        with store.reaching("read"):
            con.execute(f"CREATE TEMP VIEW {signal} AS " + " UNION ALL ".join(parts))
    lock(con, allowed, limits)
    return con


def run(
    home: Path,
    teams: list[str],
    sql: str,
    limits: SqlLimits,
    max_rows: int = MAX_ROWS,
    params: Mapping[str, Any] | None = None,
    store: ColdStore | None = None,
) -> QueryResult:
    """Run one read-only SELECT over the ``teams``' telemetry (the cold tier ``store``, by
    default under ``home``), ``$name`` placeholders bound to ``params`` (never spliced into
    the text); :class:`Invalid` names what was refused or failed (never quoting data)."""
    import duckdb

    text = sql.strip().rstrip(";").strip()
    if not text:
        raise Invalid("the query is empty", field="sql")
    try:
        one_select(text, "")
    except Invalid as exc:
        raise Invalid(exc.message.replace("a sql rule", "a telemetry query"), field="sql") from None
    started = time.perf_counter()
    con = connect(home, teams, limits, store)
    try:
        with deadline(con.interrupt, limits.seconds, "sql"):
            try:
                reader = con.sql(text, params=dict(params or {})).to_arrow_reader(
                    min(max_rows + 1, 100_000)
                )
                batches: list[pa.RecordBatch] = []
                count = 0
                schema = reader.schema
                for batch in reader:
                    batches.append(batch)
                    count += batch.num_rows
                    if count > max_rows:
                        break
            except duckdb.Error as exc:
                failure = duckdb_failure(exc, "sql", limits)
                raise Invalid(
                    failure.message.removeprefix("sql: ")
                    .replace("sql rules", "telemetry queries")
                    .replace("the contract's own data", "the telemetry views"),
                    field="sql",
                ) from None
        table = pa.Table.from_batches(batches, schema=schema)
        truncated = table.num_rows > max_rows
        return QueryResult(table.slice(0, max_rows), truncated, time.perf_counter() - started)
    finally:
        con.close()
