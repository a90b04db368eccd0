"""Dataset profiles: what each column holds, in one pass over the table.

**On DuckDB** (the default engine), :func:`profile_table` issues **one query** per table
(counted in :attr:`TableProfile.queries`, and asserted by the tests): a single aggregate scan
computing, per column, the non-null count, approximate distinct count
(``approx_count_distinct``), min, max, for numbers the mean and approximate quantiles p5, p25,
p50, p75, p95 (``approx_quantile``), the 21 most frequent values (``approx_top_k``, a
space-saving sketch: it returns every distinct value when a column has at most 20, so "the
list is complete" is exact), and a **sample** of up to 10,000 rows chosen by the smallest
hashes of the rows' contents (``min_by(row, hash(seed, row...), 10000)``: uniform,
deterministic, and independent of row order). Columns the contract declares ``unique`` skip
the top values.

* Top-value **counts** come from that sample: exact when the table has at most 10,000 rows
  (the sample is then the whole table), otherwise estimated as hits x rows / 10,000 and
  flagged ``top_value_counts_estimated`` (the sketch ranks values but does not return
  counts). With estimated counts, a column of more than 20 distinct values keeps only values
  seen at least 5 times in the sample, so a column where nothing stands out has no top values.
* Formats, likely units and the classifier (:mod:`andon.data.classify`) read the first 1,000
  rows of the sample.

**On PostgreSQL and Spark** the same profile takes at most three queries, because neither
offers a top-k sketch or a bounded row sample as an aggregate: the aggregate above without the
top values and sample; one ``UNION ALL`` of ``GROUP BY`` branches for the columns that are
not nearly unique (exact counts; all values, up to 20, when a column has at most 20); and a
1,000-row Bernoulli sample (fixed seed).

On every engine a column is "nearly unique" (no top values) when its approximate distinct
count exceeds half its non-null rows.

**Masking.** A column is PII when its contract says so (``classification: pii`` and the like),
when a stored classification says so (``andon catalog classify``), or when the classifier
finds PII in this profile's own sample. Its min, max, top values and examples are shown as
``***``.

**Likely units** (see :func:`likely_unit`): from the column name's words first (``cents``,
``usd``, ``eur``, ``kg``, ``g``/``grams``, ``lb``, ``ms``, ``s``/``seconds``, ``min``,
``h``/``hours``, ``days``, ``km``, ``m``, ``cm``, ``pct``/``percent``, ``bytes``), then the
scale of the values: a major-currency amount (``usd``, ``amount``, ``price``...) whose sampled
values are at least 90 % whole numbers with a median of 100 or more looks like minor units
(cents); a ``cents`` column with fractional values looks like major units; ``kg`` with a
median above 1,000 looks like grams, ``g`` with a median below 1 like kilograms; ``percent``
with every value within [0, 1] looks like a fraction, and a ``rate``/``ratio``/``share``
with values above 1 (up to 100) like percent.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from andon.core.context import Context
from andon.data import reach
from andon.data.contracts import Contract, SchemaObject
from andon.data.sql_guard import SqlLimits

if TYPE_CHECKING:
    from andon.data.classify import FieldClassification
    from andon.data.engines import DuckDBEngine, Engine

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
SAMPLE_ROWS = 1000
COUNT_SAMPLE = 10_000
MIN_HITS = 5
TOP_VALUES = 5
LOW_CARDINALITY = 20
EXAMPLES = 3
MASK = "***"
SEED = 7


@dataclass
class ColumnProfile:
    """What one column holds."""

    name: str
    type: str
    nulls: int
    null_share: float
    distinct: int | None
    min: Any = None
    max: Any = None
    mean: float | None = None
    quantiles: dict[str, float] | None = None
    top_values: list[dict[str, Any]] | None = None
    top_values_complete: bool = False
    top_value_counts_estimated: bool = False
    formats: dict[str, float] = field(default_factory=dict)
    unit: dict[str, Any] | None = None
    pii: bool = False
    examples: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "type": self.type,
            "nulls": self.nulls,
            "null_share": self.null_share,
            "distinct_approx": self.distinct,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "quantiles": self.quantiles,
            "top_values": self.top_values,
            "top_values_complete": self.top_values_complete,
            "top_value_counts_estimated": self.top_value_counts_estimated,
            "formats": self.formats,
            "unit": self.unit,
            "pii": self.pii,
            "examples": self.examples,
        }


@dataclass
class TableProfile:
    """A table's profile, how many queries it took, and the sample it read."""

    dataset: str
    rows: int
    columns: list[ColumnProfile]
    queries: int
    seconds: float
    sampled: int
    sample: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    classified: list[FieldClassification] = field(default_factory=list, repr=False)

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``."""
        return next(c for c in self.columns if c.name == name)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the sample itself is not included: it may hold PII)."""
        return {
            "dataset": self.dataset,
            "rows": self.rows,
            "queries": self.queries,
            "seconds": round(self.seconds, 4),
            "sampled": self.sampled,
            "columns": [c.as_dict() for c in self.columns],
        }


# --------------------------------------------------------------------------- values


def plain(value: Any) -> Any:
    """A JSON-ready value: dates as ISO text, decimals as floats, bytes as hex, NaN as None,
    infinities as the text ``inf`` / ``-inf``,
    lists and structs element by element, anything else (UUIDs, intervals) as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value:
            return None
        return value if abs(value) != float("inf") else ("inf" if value > 0 else "-inf")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def _key(value: Any) -> Any:
    """``value`` as a counting key: every NaN is the same value."""
    return "\x00nan" if isinstance(value, float) and value != value else value


_CURRENCIES = {"usd": "USD", "eur": "EUR", "gbp": "GBP", "jpy": "JPY", "chf": "CHF"}
_NAME_UNITS = {
    "cents": "cents", "cent": "cents", "kg": "kg", "kilograms": "kg", "g": "g", "grams": "g",
    "gram": "g", "lb": "lb", "lbs": "lb", "ms": "ms", "millis": "ms", "milliseconds": "ms",
    "s": "s", "sec": "s", "secs": "s", "seconds": "s", "min": "min", "minutes": "min",
    "h": "h", "hours": "h", "days": "d", "km": "km", "m": "m", "meters": "m", "metres": "m",
    "cm": "cm", "mm": "mm", "pct": "percent", "percent": "percent", "bytes": "bytes",
}  # fmt: skip
_AMOUNT_WORDS = {"amount", "amt", "price", "cost", "total", "revenue", "fee", "balance", "salary"}
_FRACTION_WORDS = {"rate", "ratio", "share", "fraction"}


def likely_unit(
    name: str, quantiles: dict[str, float] | None, sample: list[Any]
) -> dict[str, Any] | None:
    """The likely unit of a numeric column from its name and scale (rules: module docstring)."""
    from andon.data.classify import words

    tokens = words(name).split()
    unit, source = None, None
    for token in reversed(tokens):  # the last unit word wins: amount_usd_cents is cents
        if token in _CURRENCIES:
            unit, source = _CURRENCIES[token], f"name word '{token}'"
            break
        if token in _NAME_UNITS:
            unit, source = _NAME_UNITS[token], f"name word '{token}'"
            break
    if unit is None and _AMOUNT_WORDS & set(tokens):
        unit, source = "currency", "an amount-like name"
    if unit is None and _FRACTION_WORDS & set(tokens):
        unit, source = "fraction", "a rate-like name"
    if unit is None:
        return None
    out: dict[str, Any] = {"unit": unit, "from": source}
    numbers = [float(v) for v in sample if isinstance(v, int | float | Decimal)]
    if not numbers or quantiles is None:
        return out
    median = quantiles.get("p50", 0.0)
    whole = sum(1 for v in numbers if v == int(v)) / len(numbers)
    note = None
    if unit in ("currency", *_CURRENCIES.values()) and whole >= 0.9 and median >= 100:
        note = "values are whole numbers with a median of 100 or more: likely minor units (cents)"
    elif unit == "cents" and whole < 0.9:
        note = "values have fractions: likely major units, not cents"
    elif unit == "kg" and median > 1000:
        note = "median above 1,000: likely grams"
    elif unit == "g" and median < 1:
        note = "median below 1: likely kilograms"
    elif unit == "percent" and max(numbers) <= 1 and min(numbers) >= 0:
        note = "every value within [0, 1]: likely a fraction, not percent"
    elif unit == "fraction" and 1 < max(numbers) <= 100:
        note = "values above 1: likely percent, not a fraction"
    if note:
        out["scale_note"] = note
    return out


# --------------------------------------------------------------------------- the engines


@dataclass
class _Scan:
    """What the queries found: the statistics row, top values per column index, the sample."""

    row: dict[str, Any]
    tops: dict[int, tuple[list[dict[str, Any]], bool, bool]]  # values, complete, estimated
    sample: dict[str, list[Any]]


def _nearly_unique(row: dict[str, Any], i: int) -> bool:
    present, distinct = int(row[f"n{i}"]), row.get(f"d{i}")
    return distinct is None or not present or int(distinct) > present / 2


def _aggregate(t: Any) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    aggs: dict[str, Any] = {"__andon_rows": t.count()}
    schema = t.schema()
    cols = list(zip(schema.names, schema.types, strict=True))
    for i, (name, dtype) in enumerate(cols):
        col = t[name]
        aggs[f"n{i}"] = col.count()
        if dtype.is_nested():
            continue
        aggs[f"d{i}"] = col.approx_nunique()
        if not dtype.is_boolean():
            aggs[f"lo{i}"] = col.min()
            aggs[f"hi{i}"] = col.max()
        if dtype.is_numeric() and not dtype.is_boolean():
            # PostgreSQL averages integers as numeric, where Ibis expects a float.
            aggs[f"mean{i}"] = (col.cast("float64") if dtype.is_integer() else col).mean()
            aggs[f"q{i}"] = col.approx_quantile(list(QUANTILES))
    return aggs, cols


def _top_values(
    source: Engine, t: Any, label: str, wanted: list[tuple[int, str, int]]
) -> dict[int, list[dict[str, Any]]]:
    import ibis  # type: ignore[import-untyped]

    parts = []
    for i, name, limit in wanted:
        col = t[name]
        present = t.filter(col.notnull())
        grouped = (
            present.group_by(__andon_v=present[name].cast("string"))
            .aggregate(__andon_n=present.count())
            .order_by([ibis.desc("__andon_n"), "__andon_v"])
            .limit(limit)
            .mutate(__andon_c=ibis.literal(i))
        )
        parts.append(grouped)
    expr = parts[0] if len(parts) == 1 else ibis.union(*parts)
    out: dict[int, list[dict[str, Any]]] = {}
    for row in source.execute(expr, f"{label} top values"):
        out.setdefault(int(row["__andon_c"]), []).append(
            {"value": row["__andon_v"], "count": int(row["__andon_n"])}
        )
    for values in out.values():
        values.sort(key=lambda v: (-v["count"], str(v["value"])))
    return out


def _three_queries(
    source: Engine, t: Any, cols: list[tuple[str, Any]], label: str, sample_rows: int
) -> _Scan:
    """Any engine: the aggregate, one ``UNION ALL`` of ``GROUP BY`` for exact top values, and
    a Bernoulli sample (see the module doc)."""
    aggs, _ = _aggregate(t)
    [row] = source.execute(t.aggregate(**aggs), label)
    wanted: list[tuple[int, str, int]] = []
    for i, (name, _dtype) in enumerate(cols):
        if not _nearly_unique(row, i):
            distinct = int(row[f"d{i}"])
            wanted.append(
                (i, name, LOW_CARDINALITY + 1 if distinct <= LOW_CARDINALITY else TOP_VALUES)
            )
    tops: dict[int, tuple[list[dict[str, Any]], bool, bool]] = {}
    if wanted:
        found = _top_values(source, t, label, wanted)
        for i, _name, limit in wanted:
            values = found.get(i, [])
            complete = limit > TOP_VALUES and len(values) < limit
            tops[i] = (values if complete else values[:TOP_VALUES], complete, False)
    sample: dict[str, list[Any]] = {name: [] for name, _ in cols}
    rows = int(row["__andon_rows"])
    if rows:
        fraction = min(1.0, 1.5 * sample_rows / rows)
        expr = (t.sample(fraction, seed=SEED) if fraction < 1 else t).limit(sample_rows)
        for r in source.execute(expr, f"{label} sample"):
            for name in sample:
                sample[name].append(r[name])
    return _Scan(row, tops, sample)


def _one_pass(
    source: DuckDBEngine,
    obj: SchemaObject,
    cols: list[tuple[str, Any]],
    label: str,
    sample_rows: int,
) -> _Scan:
    """DuckDB: every statistic, the top-value candidates and the sample from one scan."""
    q = source.quote
    declared_unique = {p.name for p in obj.properties if p.unique}
    select = ["count(*) AS __andon_rows"]
    ranked: list[int] = []
    for i, (name, dtype) in enumerate(cols):
        c = q(name)
        select.append(f"count({c}) AS n{i}")
        if dtype.is_nested():
            continue
        select.append(f"approx_count_distinct({c}) AS d{i}")
        if not dtype.is_boolean():
            select += [f"min({c}) AS lo{i}", f"max({c}) AS hi{i}"]
        if dtype.is_numeric() and not dtype.is_boolean():
            levels = ", ".join(str(level) for level in QUANTILES)
            select += [f"avg({c}) AS mean{i}", f"approx_quantile({c}, [{levels}]) AS q{i}"]
        if name not in declared_unique:
            select.append(f"approx_top_k({c}, {LOW_CARDINALITY + 1}) AS t{i}")
            ranked.append(i)
    every = ", ".join(q(name) for name, _ in cols)
    fields = ", ".join(f"'c{i}': {q(name)}" for i, (name, _) in enumerate(cols))
    select.append(f"min_by({{{fields}}}, hash({SEED}, {every}), {COUNT_SAMPLE}) AS __andon_sample")
    as_text = "".join(f", CAST(t{i} AS VARCHAR[]) AS s{i}" for i in ranked)
    query = f"SELECT *{as_text} FROM (SELECT {', '.join(select)} FROM {q(obj.name)})"
    [row] = source.sql_rows(query, label)
    drawn = row.pop("__andon_sample") or []
    rows = int(row["__andon_rows"])
    estimated = len(drawn) < rows
    tops: dict[int, tuple[list[dict[str, Any]], bool, bool]] = {}
    for i in ranked:
        candidates, texts = row[f"t{i}"] or [], row[f"s{i}"] or []
        if _nearly_unique(row, i) or not candidates:
            continue
        seen = Counter(_key(r[f"c{i}"]) for r in drawn)
        complete = len(candidates) <= LOW_CARDINALITY
        values = []
        for native, text in zip(candidates, texts, strict=True):
            hits = seen.get(_key(native), 0)
            if not estimated:
                values.append({"value": text, "count": hits})
            elif complete or hits >= MIN_HITS:
                values.append({"value": text, "count": max(1, round(hits * rows / len(drawn)))})
        if not values:  # no value stands out of the sample: nothing worth calling "top"
            continue
        values.sort(key=lambda v: (-v["count"], str(v["value"])))
        tops[i] = (values if complete else values[:TOP_VALUES], complete, estimated)
    sample = {name: [r[f"c{i}"] for r in drawn[:sample_rows]] for i, (name, _) in enumerate(cols)}
    return _Scan(row, tops, sample)


def _examples(values: list[Any]) -> list[Any]:
    """The first few distinct non-null values (lists and structs compared by their text)."""
    seen: dict[str, Any] = {}
    for v in values:
        if v is not None and len(seen) < EXAMPLES:
            seen.setdefault(repr(v), plain(v))
    return list(seen.values())


def profile_table(
    source: Engine,
    obj: SchemaObject,
    *,
    pii: set[str] | frozenset[str] = frozenset(),
    sample_rows: int = SAMPLE_ROWS,
) -> TableProfile:
    """Profile schema object ``obj`` of ``source``: one query on DuckDB, at most three on
    other engines (see the module doc)."""
    from andon.data.classify import classify_fields
    from andon.data.engines import DuckDBEngine
    from andon.data.validators import format_shares

    started = time.perf_counter()
    before = source.queries
    label = f"{obj.name} ({source.locations[obj.name]})"
    t = source.table(obj.name)
    schema = t.schema()
    cols = list(zip(schema.names, schema.types, strict=True))
    if isinstance(source, DuckDBEngine):
        scan = _one_pass(source, obj, cols, label, sample_rows)
    else:
        scan = _three_queries(source, t, cols, label, sample_rows)
    row, sample = scan.row, scan.sample
    rows = int(row["__andon_rows"])
    profiles: list[ColumnProfile] = []
    for i, (name, dtype) in enumerate(cols):
        present = int(row[f"n{i}"])
        distinct = row.get(f"d{i}")
        p = ColumnProfile(
            name,
            str(dtype),
            rows - present,
            round((rows - present) / rows, 6) if rows else 0.0,
            int(distinct) if distinct is not None else None,
            plain(row.get(f"lo{i}")),
            plain(row.get(f"hi{i}")),
            plain(row.get(f"mean{i}")),
        )
        q = row.get(f"q{i}")
        if q is not None:
            p.quantiles = {
                f"p{round(level * 100)}": plain(v) for level, v in zip(QUANTILES, q, strict=True)
            }
        if i in scan.tops:
            p.top_values, p.top_values_complete, p.top_value_counts_estimated = scan.tops[i]
        profiles.append(p)
    classified = classify_fields(list(sample.items()))
    masked = set(pii) | {p.name for p in obj.properties if p.pii}
    masked |= {c.column for c in classified if c.pii}
    for p in profiles:
        values = sample[p.name]
        if values and isinstance(next((v for v in values if v is not None), None), str):
            p.formats = {k: round(v, 4) for k, v in format_shares(values).items() if v >= 0.5}
        if p.quantiles is not None:
            p.unit = likely_unit(p.name, p.quantiles, values)
        p.examples = _examples(values)
        if p.name in masked:
            p.pii = True
            p.min = MASK if p.min is not None else None
            p.max = MASK if p.max is not None else None
            p.examples = [MASK for _ in p.examples]
            if p.top_values:
                p.top_values = [{"value": MASK, "count": v["count"]} for v in p.top_values]
    return TableProfile(
        obj.name,
        rows,
        profiles,
        source.queries - before,
        time.perf_counter() - started,
        len(next(iter(sample.values()), [])),
        sample,
        classified,
    )


def open_source(
    contract: Contract,
    base_dir: Path,
    table: str,
    server: str | None,
    limits: SqlLimits | None = None,
) -> Engine:
    """The contract's engine with one schema object only (other tables need not exist)."""
    from andon.core.errors import NotFound
    from andon.data.engines import open_engine

    obj = contract.table(table)
    if obj is None:
        raise NotFound(f"contract '{contract.id}' has no schema object '{table}'")
    single = Contract(
        contract.id, contract.version, contract.status, contract.servers, (obj,), (), contract.document
    )  # fmt: skip
    return open_engine(single, contract.server(server), base_dir, limits=limits)


# --------------------------------------------------------------------------- the service


def profile_dataset(ctx: Context, dataset: str, *, server: str | None = None) -> TableProfile:
    """Profile ``dataset`` (``team/name``) as its latest contract locates it; a read."""
    from andon.data.connections import bind
    from andon.data.queries import resolve_dataset
    from andon.store.tables import catalog as c

    with ctx.db.read() as session:
        ref = resolve_dataset(session, dataset)
        ctx.require("dataset.read", team_id=ref.team_id, asset_id=ref.asset_id)
        reach.confine_files(session, ctx.settings, ref.contract, ref.base_dir, ref.team_id)
        contract = bind(session, ref.contract)
        pii = {
            row.column
            for row in session.scalars(
                select(c.FieldClassification).where(c.FieldClassification.dataset_id == ref.id)
            )
            if row.category == "pii"
        }
    obj = ref.contract.table(ref.name)
    assert obj is not None
    source = open_source(contract, ref.base_dir, ref.name, server, SqlLimits.of(ctx.settings))
    try:
        found = profile_table(source, obj, pii=pii)
    finally:
        source.close()
    found.dataset = ref.label
    return found
