"""The tag-cardinality guard the writer applies to a team's batches, and the report of what a
tag schema keeps, drops and saves (``andon telemetry cardinality``).

The guard (:func:`guard`) runs in the writer, the one process that owns a team's hot file, so
the distinct values each tag took today are counted exactly, once, across every producer:

* the batch's attribute pairs are unnested in DuckDB (``json_each``), each key resolved once
  against the schema (:mod:`andon.telemetry.tags`);
* new values of a limited tag are admitted in arrival order until the tag's limit for the UTC
  day (``tag_values`` in the hot file holds the admitted values' hashes, so a restart or a
  later batch sees the same set); values past it, and tags outside the schema, are dropped or
  hashed into buckets;
* what was dropped or hashed is counted per day, signal, key and reason (``tag_guard``) before
  the rows are stored, so the report can show what never reached the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from andon.data.sql_guard import SqlLimits
from andon.telemetry import hot
from andon.telemetry import query as sql_query
from andon.telemetry.cold import ColdStore
from andon.telemetry.tags import TagSchema

_OBJECT = (
    "CASE WHEN json_valid(b.attributes) AND starts_with(ltrim(b.attributes), '{') "
    "THEN b.attributes ELSE '{}' END"
)
GUARD_DAYS = timedelta(days=180)
"""How long the guard's counts are kept for the report."""
_HASHED_BYTES = 6  # the length of a hashed value as stored, "#nn" with its quotes, about


@dataclass(frozen=True)
class Guarded:
    """What :func:`guard` did to one batch."""

    table: pa.Table
    dropped: int = 0  # attribute values removed
    hashed: int = 0  # attribute values replaced by their bucket


def guard(con: Any, table: pa.Table, schema: TagSchema, day: date, signal: str) -> Guarded:
    """``table`` with its attributes brought within ``schema`` (in the open transaction of
    the team's hot file ``con``); the admitted values and the counts are stored with it."""
    if table.num_rows == 0:
        return Guarded(table)
    batch = pa.table({"rid": pa.array(range(table.num_rows), pa.int64()),
                      "attributes": table.column("attributes")})  # fmt: skip
    con.register("tag_batch", batch)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE tag_pairs AS SELECT b.rid, e.key, e.value::VARCHAR "
            f"AS value, md5_number_lower(e.value::VARCHAR) AS h FROM tag_batch b, json_each({_OBJECT}) e"
        )
    finally:
        con.unregister("tag_batch")
    keys = [r[0] for r in con.execute("SELECT DISTINCT key FROM tag_pairs").fetchall()]
    if not keys:
        return Guarded(table)
    con.register("tag_keys", _resolve(schema, keys))
    try:
        con.execute("DELETE FROM tag_values WHERE day < ?", [day])
        con.execute(
            "INSERT INTO tag_values WITH cand AS (SELECT p.key, p.h, min(p.rid) AS first "
            "FROM tag_pairs p JOIN tag_keys k USING (key) WHERE k.max_distinct IS NOT NULL "
            "GROUP BY p.key, p.h), fresh AS (SELECT c.* FROM cand c ANTI JOIN tag_values v "
            "ON v.day = $day AND v.key = c.key AND v.value_hash = c.h), "
            "used AS (SELECT key, count(*) AS n FROM tag_values WHERE day = $day GROUP BY key), "
            "ranked AS (SELECT key, h, row_number() OVER (PARTITION BY key ORDER BY first, h) "
            "AS r FROM fresh) SELECT $day, r.key, r.h FROM ranked r JOIN tag_keys k USING (key) "
            "LEFT JOIN used u USING (key) WHERE coalesce(u.n, 0) + r.r <= k.max_distinct",
            {"day": day},
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE tag_verdicts AS SELECT p.rid, p.key, p.value, p.h, "
            "CASE WHEN k.outside THEN k.action WHEN k.max_distinct IS NULL "
            "OR v.value_hash IS NOT NULL THEN 'keep' ELSE k.action END AS action, "
            "CASE WHEN k.outside THEN 'outside' ELSE 'over_limit' END AS reason "
            "FROM tag_pairs p JOIN tag_keys k USING (key) LEFT JOIN tag_values v "
            "ON v.day = $day AND v.key = p.key AND v.value_hash = p.h",
            {"day": day},
        )
    finally:
        con.unregister("tag_keys")
    counts = dict(
        con.execute(
            "SELECT action, count(*) FROM tag_verdicts WHERE action <> 'keep' GROUP BY action"
        ).fetchall()
    )
    if not counts:
        return Guarded(table)
    con.execute(
        "INSERT INTO tag_guard SELECT $day, $signal, key, reason, action, count(*), "
        "sum(length(key) + length(value)) FROM tag_verdicts WHERE action <> 'keep' "
        "GROUP BY key, reason, action ON CONFLICT (day, signal, key, reason, action) DO UPDATE "
        "SET occurrences = tag_guard.occurrences + excluded.occurrences, "
        "bytes = tag_guard.bytes + excluded.bytes",
        {"day": day, "signal": signal},
    )
    rows = con.execute(
        "SELECT c.rid, coalesce(o.attributes::VARCHAR, '{}') FROM (SELECT DISTINCT rid "
        "FROM tag_verdicts WHERE action <> 'keep') c LEFT JOIN (SELECT rid, "
        "json_group_object(key, CASE WHEN action = 'hash' THEN to_json('#' || "
        "(h % $buckets)::VARCHAR) ELSE value::JSON END) AS attributes FROM tag_verdicts "
        "WHERE action <> 'drop' GROUP BY rid) o USING (rid)",
        {"buckets": schema.buckets},
    ).fetchall()
    values = table.column("attributes").to_pylist()
    for rid, attributes in rows:
        values[rid] = attributes
    index = table.schema.get_field_index("attributes")
    guarded = table.set_column(index, table.schema.field(index), pa.array(values, pa.string()))
    return Guarded(guarded, int(counts.get("drop", 0)), int(counts.get("hash", 0)))


def _resolve(schema: TagSchema, keys: list[str]) -> pa.Table:
    """Each key's verdict: outside the schema (and the schema's action for it) or its rule."""
    outside: list[bool] = []
    limits: list[int | None] = []
    actions: list[str] = []
    for key in keys:
        rule = schema.rule_for(key)
        if rule is None and schema.outside != "keep":
            outside.append(True)
            limits.append(None)
            actions.append(schema.outside)
        else:
            outside.append(False)
            limits.append(rule.max_distinct if rule is not None else None)
            actions.append(rule.over_limit if rule is not None else "keep")
    return pa.table({
        "key": pa.array(keys, pa.string()),
        "outside": pa.array(outside, pa.bool_()),
        "max_distinct": pa.array(limits, pa.int64()),
        "action": pa.array(actions, pa.string()),
    })  # fmt: skip


@dataclass
class KeyFigures:
    """One attribute key in the report: what is stored of it, and the schema's verdict."""

    key: str
    distinct: int = 0  # the most distinct values it took on one day
    occurrences: int = 0
    bytes: int = 0
    verdict: str = "keep"  # keep | drop | hash | limit
    saves: int = 0  # bytes the schema would not have stored
    guarded: int = 0  # values the guard already dropped or hashed (never stored as sent)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


@dataclass
class CardinalityReport:
    """What a team stores per attribute key since a day, and what a tag schema changes."""

    team: str
    since: date
    schema: str  # "team" (its own), "proposed" (a file) or "none"
    keys: list[KeyFigures] = field(default_factory=list)

    @property
    def keys_before(self) -> int:
        """Distinct keys seen (stored, or dropped by the guard)."""
        return len(self.keys)

    @property
    def keys_after(self) -> int:
        """Distinct keys the schema keeps (whole, limited or hashed)."""
        return sum(1 for k in self.keys if k.verdict != "drop")

    @property
    def bytes_before(self) -> int:
        """Attribute bytes stored (key plus value as JSON)."""
        return sum(k.bytes for k in self.keys)

    @property
    def bytes_after(self) -> int:
        """Attribute bytes once the schema applies."""
        return self.bytes_before - sum(k.saves for k in self.keys)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "team": self.team, "since": self.since.isoformat(), "schema": self.schema,
            "keys_before": self.keys_before, "keys_after": self.keys_after,
            "bytes_before": self.bytes_before, "bytes_after": self.bytes_after,
            "keys": [k.as_dict() for k in self.keys],
        }  # fmt: skip


_STORED = """
WITH pairs AS (
  SELECT day, start_time AS t, e.key, e.value::VARCHAR AS value FROM spans,
         json_each(spans.attributes) e WHERE day >= $since
  UNION ALL SELECT day, time, e.key, e.value::VARCHAR FROM metrics,
         json_each(metrics.attributes) e WHERE day >= $since
  UNION ALL SELECT day, time, e.key, e.value::VARCHAR FROM logs,
         json_each(logs.attributes) e WHERE day >= $since
), per_value AS (
  SELECT key, day, value, count(*) AS n, sum(length(key) + length(value)) AS bytes,
         min(t) AS first FROM pairs GROUP BY key, day, value
), ranked AS (
  SELECT *, row_number() OVER (PARTITION BY key, day ORDER BY first, value) AS r FROM per_value
)
SELECT r.key, max(d.distinct_values), sum(r.n), sum(r.bytes),
       coalesce(sum(r.bytes) FILTER (WHERE l.max_distinct IS NOT NULL AND r.r > l.max_distinct), 0),
       coalesce(sum(r.n) FILTER (WHERE l.max_distinct IS NOT NULL AND r.r > l.max_distinct), 0)
FROM ranked r
JOIN (SELECT key, day, count(*) AS distinct_values FROM per_value GROUP BY key, day) d
  USING (key, day)
LEFT JOIN tag_limits l USING (key)
GROUP BY r.key
"""


def report(
    home: Path,
    team: str,
    since: date,
    schema: TagSchema | None,
    which: str,
    limits: SqlLimits,
    store: ColdStore | None = None,
) -> CardinalityReport:
    """Per attribute key of ``team`` since ``since``: distinct values, occurrences and bytes
    stored, the guard's drops, and what ``schema`` would keep and save."""
    con = sql_query.connect(home, [team], limits, store)
    try:
        keys = [r[0] for r in con.execute(_KEYS, {"since": since}).fetchall()]
        con.register("tag_limits", _limits(schema, keys))
        stored = con.execute(_STORED, {"since": since}).fetchall()
    finally:
        con.close()
    figures: dict[str, KeyFigures] = {}
    for key, distinct, occurrences, size, over_bytes, over_n in stored:
        item = figures[key] = KeyFigures(key, int(distinct), int(occurrences), int(size))
        _verdict(item, schema, int(over_bytes), int(over_n))
    for key, occurrences in _guarded(home, team, since).items():
        item = figures.setdefault(key, KeyFigures(key))
        item.guarded = occurrences
        if schema is not None and item.occurrences == 0:
            _verdict(item, schema, 0, 0)
    ordered = sorted(figures.values(), key=lambda k: (-k.distinct, -k.bytes, k.key))
    return CardinalityReport(team, since, which, ordered)


_KEYS = """
SELECT DISTINCT e.key FROM spans, json_each(spans.attributes) e WHERE day >= $since
UNION SELECT DISTINCT e.key FROM metrics, json_each(metrics.attributes) e WHERE day >= $since
UNION SELECT DISTINCT e.key FROM logs, json_each(logs.attributes) e WHERE day >= $since
"""


def _limits(schema: TagSchema | None, keys: list[str]) -> pa.Table:
    limited = []
    if schema is not None:
        for key in keys:
            rule = schema.rule_for(key)
            if rule is not None and rule.max_distinct is not None:
                limited.append((key, rule.max_distinct))
    return pa.table({"key": pa.array([k for k, _ in limited], pa.string()),
                     "max_distinct": pa.array([n for _, n in limited], pa.int64())})  # fmt: skip


def _verdict(item: KeyFigures, schema: TagSchema | None, over_bytes: int, over_n: int) -> None:
    if schema is None:
        return
    rule = schema.rule_for(item.key)
    if rule is None:
        item.verdict = "keep" if schema.outside == "keep" else schema.outside
        if schema.outside == "drop":
            item.saves = item.bytes
        elif schema.outside == "hash":
            item.saves = max(0, item.bytes - item.occurrences * (len(item.key) + _HASHED_BYTES))
        return
    if rule.max_distinct is None or item.distinct <= rule.max_distinct:
        item.verdict = "keep"
        return
    item.verdict = "limit" if rule.over_limit == "drop" else "hash"
    if rule.over_limit == "drop":
        item.saves = over_bytes
    else:
        item.saves = max(0, over_bytes - over_n * (len(item.key) + _HASHED_BYTES))


def _guarded(home: Path, team: str, since: date) -> dict[str, int]:
    if not hot.path_of(home, team).exists():
        return {}
    with hot.reading(home, team) as con:
        if not con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = 'tag_guard'"
        ).fetchall():  # a file no writer of this version has opened yet
            return {}
        rows = con.execute(
            "SELECT key, sum(occurrences) FROM tag_guard WHERE day >= ? GROUP BY key", [since]
        ).fetchall()
    return {key: int(n) for key, n in rows}
