"""The hot tier: one DuckDB file per team, ``HOME/telemetry/hot/<team>.duckdb``.

One file per team keeps a team's data physically apart (a query attaches only the files of
the teams its principal may read, so no SQL can reach another team's rows) and lets
retention and budgets work team by team. DuckDB lets one process write a file and no other
process open it meanwhile, so the writer holds a file only while it folds a batch (well
under a second) and readers retry while it is busy (:func:`connect`).

Tables of a hot file:

* ``spans``, ``metrics``, ``logs``: the kept rows (:mod:`andon.telemetry.schema` columns and
  ``move_id``, set while the retention job moves a day to the cold tier);
* ``held_spans``: spans of traces not yet decided (``state = 'pending'``), and of traces
  recently dropped (``'dropped'``, held for the late-error window);
* ``decisions``: the sampling decision of every recent trace (kept or not, by which policy);
* ``sampling_totals``: kept and dropped traces and spans per policy since the file began;
* ``folded``: the spool files already folded (a ledger, so a crash between committing a
  batch and deleting its file never folds it twice);
* ``moves``: the retention job's moves to the cold tier (see :mod:`andon.telemetry.tiers`);
* ``outbound``: kept spans waiting to be exported to another collector, and ``export_totals``
  what the exporter did with them (see :mod:`andon.telemetry.exporter`);
* ``tag_values``: the hashes of the values each limited tag was admitted with today, and
  ``tag_guard`` what the tag schema dropped or hashed (see :mod:`andon.telemetry.cardinality`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from andon.core.errors import Unavailable
from andon.telemetry.schema import SCHEMAS, SPANS

T = TypeVar("T")
LOCK_WAIT_SECONDS = 30.0
"""How long an opener waits for another process to let go of a hot file."""


def folder(home: Path) -> Path:
    """Where the hot files of an andon home are."""
    return home / "telemetry" / "hot"


def path_of(home: Path, team: str) -> Path:
    """The hot file of ``team``."""
    return folder(home) / f"{team}.duckdb"


def teams(home: Path) -> list[str]:
    """The teams that have a hot file."""
    root = folder(home)
    return sorted(p.stem for p in root.glob("*.duckdb")) if root.is_dir() else []


def _sql_type(kind: pa.DataType) -> str:
    if pa.types.is_string(kind):
        return "VARCHAR"
    if pa.types.is_int64(kind):
        return "BIGINT"
    if pa.types.is_int32(kind):
        return "INTEGER"
    if pa.types.is_float64(kind):
        return "DOUBLE"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    if pa.types.is_date32(kind):
        return "DATE"
    if pa.types.is_list(kind):
        return f"{_sql_type(kind.value_type)}[]"
    raise TypeError(f"no DuckDB type for {kind}")


def columns(schema: pa.Schema) -> str:
    """The column list of ``schema`` as DDL."""
    return ", ".join(
        f'"{f.name}" {_sql_type(f.type)}{"" if f.nullable else " NOT NULL"}' for f in schema
    )


def names(schema: pa.Schema) -> str:
    """The quoted column names of ``schema``, comma-separated."""
    return ", ".join(f'"{f.name}"' for f in schema)


_DDL = [
    *(
        f"CREATE TABLE IF NOT EXISTS {signal} ({columns(schema)}, move_id VARCHAR)"
        for signal, schema in SCHEMAS.items()
    ),
    f"CREATE TABLE IF NOT EXISTS held_spans ({columns(SPANS)}, arrived_ns BIGINT NOT NULL, "
    "state VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS decisions (trace_id VARCHAR PRIMARY KEY, kept BOOLEAN NOT NULL, "
    "policy VARCHAR NOT NULL, decided_ns BIGINT NOT NULL, spans BIGINT NOT NULL, "
    "late_spans BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS sampling_totals (kept BOOLEAN NOT NULL, policy VARCHAR NOT NULL, "
    "traces BIGINT NOT NULL, spans BIGINT NOT NULL, late_spans BIGINT NOT NULL, "
    "PRIMARY KEY (kept, policy))",
    "CREATE TABLE IF NOT EXISTS folded (name VARCHAR PRIMARY KEY, folded_ns BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS moves (move_id VARCHAR PRIMARY KEY, signal VARCHAR NOT NULL, "
    "day DATE NOT NULL, file VARCHAR NOT NULL, state VARCHAR NOT NULL, rows BIGINT)",
    f"CREATE TABLE IF NOT EXISTS outbound ({columns(SPANS)}, queued_ns BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS export_totals (outcome VARCHAR PRIMARY KEY, spans BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tag_values (day DATE NOT NULL, key VARCHAR NOT NULL, "
    "value_hash UBIGINT NOT NULL, PRIMARY KEY (day, key, value_hash))",
    "CREATE TABLE IF NOT EXISTS tag_guard (day DATE NOT NULL, signal VARCHAR NOT NULL, "
    "key VARCHAR NOT NULL, reason VARCHAR NOT NULL, action VARCHAR NOT NULL, "
    "occurrences BIGINT NOT NULL, bytes BIGINT NOT NULL, "
    "PRIMARY KEY (day, signal, key, reason, action))",
]


def while_locked(attempt: Callable[[], T], path: Path, wait: float = LOCK_WAIT_SECONDS) -> T:
    """``attempt()`` (an open or an attach of the hot file ``path``), retried with backoff
    while another process holds the file, for up to ``wait`` seconds; then
    :class:`Unavailable`."""
    import duckdb

    deadline = time.monotonic() + wait
    pause = 0.005
    while True:
        try:
            return attempt()
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise Unavailable(
                    f"the hot telemetry file {path.name} is held by another process",
                    hint="the telemetry writer holds a file only while it folds a batch; try again",
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def _open(path: Path, read_only: bool, wait: float) -> Any:
    import duckdb

    return while_locked(lambda: duckdb.connect(str(path), read_only=read_only), path, wait)


@contextmanager
def writing(home: Path, team: str, wait: float = LOCK_WAIT_SECONDS) -> Iterator[Any]:
    """A read-write connection to ``team``'s hot file (created with its tables if new),
    closed at the end of the block."""
    path = path_of(home, team)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, False, wait)
    try:
        for statement in _DDL:
            con.execute(statement)
        yield con
    finally:
        con.close()


@contextmanager
def reading(home: Path, team: str, wait: float = LOCK_WAIT_SECONDS) -> Iterator[Any]:
    """A read-only connection to ``team``'s hot file (which must exist)."""
    con = _open(path_of(home, team), True, wait)
    try:
        yield con
    finally:
        con.close()
