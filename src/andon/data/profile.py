"""Dataset profiles: what each column holds, in one aggregate pass plus two small queries.

Per table, :func:`profile_table` issues at most three queries (counted in
:attr:`TableProfile.queries`, and asserted by the tests):

1. **one aggregate** (one scan) with, per column: non-null count, approximate distinct count
   (DuckDB ``approx_count_distinct``), min, max, and for numbers the mean and approximate
   quantiles p5, p25, p50, p75, p95 (``approx_quantile``);
2. **top values**: one ``UNION ALL`` of ``GROUP BY`` branches, one per column that is not
   nearly unique (approximate distinct count at most half its non-null rows), each keeping
   the most frequent values with exact counts (all of them, up to 20, when the column has
   at most 20 distinct values, so allowed-value proposals see the full list); skipped when
   no column qualifies;
3. **a sample** of up to 1,000 rows (Bernoulli sample, fixed seed), from which formats are
   detected (:mod:`andon.data.validators`), likely units judged, and fields classified
   (:mod:`andon.data.classify`) to decide what to mask.

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
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from andon.core.context import Context
from andon.data.contracts import Contract, SchemaObject

if TYPE_CHECKING:
    from andon.data.classify import FieldClassification
    from andon.data.compile import Source

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
SAMPLE_ROWS = 1000
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
    """A JSON-ready scalar: dates as ISO text, decimals as floats, bytes as hex."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


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


# --------------------------------------------------------------------------- the engine


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
            aggs[f"mean{i}"] = col.mean()
            aggs[f"q{i}"] = col.approx_quantile(list(QUANTILES))
    return aggs, cols


def _top_values(
    source: Source, t: Any, label: str, wanted: list[tuple[int, str, int]]
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


def profile_table(
    source: Source,
    obj: SchemaObject,
    *,
    pii: set[str] | frozenset[str] = frozenset(),
    sample_rows: int = SAMPLE_ROWS,
) -> TableProfile:
    """Profile schema object ``obj`` of ``source`` (at most three queries; see the module doc)."""
    from andon.data.classify import classify_fields
    from andon.data.validators import format_shares

    started = time.perf_counter()
    before = source.queries
    label = f"{obj.name} ({source.locations[obj.name]})"
    t = source.table(obj.name)
    aggs, cols = _aggregate(t)
    [row] = source.execute(t.aggregate(**aggs), label)
    rows = int(row["__andon_rows"])
    profiles: list[ColumnProfile] = []
    wanted: list[tuple[int, str, int]] = []
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
        if distinct is not None and present and int(distinct) <= present / 2:
            limit = LOW_CARDINALITY + 1 if int(distinct) <= LOW_CARDINALITY else TOP_VALUES
            wanted.append((i, name, limit))
        profiles.append(p)
    if wanted:
        tops = _top_values(source, t, label, wanted)
        for i, _name, limit in wanted:
            found = tops.get(i, [])
            complete = limit > TOP_VALUES and len(found) < limit
            profiles[i].top_values = found[:TOP_VALUES] if not complete else found
            profiles[i].top_values_complete = complete
    sample: dict[str, list[Any]] = {name: [] for name, _ in cols}
    if rows:
        fraction = min(1.0, 1.5 * sample_rows / rows)
        expr = (t.sample(fraction, seed=SEED) if fraction < 1 else t).limit(sample_rows)
        for r in source.execute(expr, f"{label} sample"):
            for name in sample:
                sample[name].append(r[name])
    classified = classify_fields(list(sample.items()))
    masked = set(pii) | {p.name for p in obj.properties if p.pii}
    masked |= {c.column for c in classified if c.pii}
    for p in profiles:
        values = sample[p.name]
        if values and isinstance(next((v for v in values if v is not None), None), str):
            p.formats = {k: round(v, 4) for k, v in format_shares(values).items() if v >= 0.5}
        if p.quantiles is not None:
            p.unit = likely_unit(p.name, p.quantiles, values)
        p.examples = [plain(v) for v in dict.fromkeys(v for v in values if v is not None)][
            :EXAMPLES
        ]
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


def open_source(contract: Contract, base_dir: Path, table: str, server: str | None) -> Source:
    """A DuckDB source with a view of one schema object only (other tables need not exist)."""
    from andon.core.errors import NotFound
    from andon.data.compile import Source

    obj = contract.table(table)
    if obj is None:
        raise NotFound(f"contract '{contract.id}' has no schema object '{table}'")
    single = Contract(
        contract.id, contract.version, contract.status, contract.servers, (obj,), (), contract.document
    )  # fmt: skip
    return Source(single, contract.server(server), base_dir)


# --------------------------------------------------------------------------- the service


def profile_dataset(ctx: Context, dataset: str, *, server: str | None = None) -> TableProfile:
    """Profile ``dataset`` (``team/name``) as its latest contract locates it; a read."""
    from andon.data.datasets import resolve
    from andon.store import catalog_tables as c

    with ctx.db.read() as session:
        ref = resolve(session, dataset)
        ctx.require("dataset.read", team_id=ref.team_id, asset_id=ref.asset_id)
        pii = {
            row.column
            for row in session.scalars(
                select(c.FieldClassification).where(c.FieldClassification.dataset_id == ref.id)
            )
            if row.category == "pii"
        }
    obj = ref.contract.table(ref.name)
    assert obj is not None
    source = open_source(ref.contract, ref.base_dir, ref.name, server)
    try:
        found = profile_table(source, obj, pii=pii)
    finally:
        source.close()
    found.dataset = ref.label
    return found
