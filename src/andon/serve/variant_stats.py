"""Per-variant figures of model endpoints: counted in memory by each gateway worker, written
about once a second, summed by readers (docs/canary.md).

A worker never writes per request. It keeps one :class:`Tally` per (endpoint, variant,
model version, UTC minute) and :func:`flush` writes its totals so far, one row per worker,
in one short transaction (an UPSERT of absolute values: repeating it changes nothing, and
no two workers write the same row). :func:`summarize` folds rows into :class:`Figures`.

Latency goes into a fixed histogram of :data:`BOUNDS_MS` (geometric, 25 % apart, from
0.1 ms to about two minutes), so p50/p95/p99 are estimates within one bucket (interpolated
linearly inside it) and rows from many workers and minutes add up exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from andon.core.context import Database
from andon.store.tables import serve as s

BOUNDS_MS: tuple[float, ...] = tuple(round(0.1 * 1.25**i, 6) for i in range(64))
"""Upper bounds of the latency buckets, in ms; one more bucket holds anything slower."""
VARIANTS = ("primary", "canary", "shadow")


def bucket_of(ms: float) -> int:
    """The histogram bucket a latency falls in."""
    lo, hi = 0, len(BOUNDS_MS)
    while lo < hi:  # the first bound >= ms
        mid = (lo + hi) // 2
        if BOUNDS_MS[mid] < ms:
            lo = mid + 1
        else:
            hi = mid
    return lo


def quantile_ms(histogram: dict[int, int], q: float) -> float | None:
    """The ``q`` quantile (0-1) of a latency histogram; None when it is empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for index in sorted(histogram):
        count = histogram[index]
        if count <= 0:
            continue
        if seen + count >= rank:
            if index >= len(BOUNDS_MS):
                return BOUNDS_MS[-1]
            low = BOUNDS_MS[index - 1] if index > 0 else 0.0
            share = (rank - seen) / count
            return round(low + (BOUNDS_MS[index] - low) * share, 6)
        seen += count
    return BOUNDS_MS[-1]


@dataclass(frozen=True, slots=True)
class TallyKey:
    """What one tally counts: an endpoint's variant, the version it served, a minute."""

    endpoint: str
    variant: str
    model: str
    alias: str
    version: int
    model_version_id: str
    window_start: datetime


@dataclass
class Tally:
    """One worker's running totals for one :class:`TallyKey`."""

    requests: int = 0
    errors: int = 0
    latency_ms_sum: float = 0.0
    latency_ms_max: float = 0.0
    histogram: dict[int, int] = field(default_factory=dict)
    cost_nanos: int = 0
    guard_violations: int = 0
    """Always 0 for now: guards (issue 15) will count their violations here."""
    compared: int = 0
    agreed: int = 0
    dirty: bool = True

    def add(
        self, ms: float, *, error: bool, cost_nanos: int = 0, compared: int = 0, agreed: int = 0
    ) -> None:
        """Count one request that took ``ms``."""
        self.requests += 1
        self.errors += int(error)
        self.latency_ms_sum += ms
        self.latency_ms_max = max(self.latency_ms_max, ms)
        index = bucket_of(ms)
        self.histogram[index] = self.histogram.get(index, 0) + 1
        self.cost_nanos += cost_nanos
        self.compared += compared
        self.agreed += agreed
        self.dirty = True


def minute_of(at: datetime) -> datetime:
    """The UTC minute ``at`` falls in."""
    return at.replace(second=0, microsecond=0)


def flush(
    db: Database, worker: str, tallies: Iterable[tuple[TallyKey, Tally]], at: datetime
) -> int:
    """Write ``worker``'s totals of each tally (one transaction); returns the rows written."""
    rows = [
        {
            "endpoint": key.endpoint,
            "variant": key.variant,
            "model_version_id": key.model_version_id,
            "window_start": key.window_start,
            "worker": worker,
            "alias": key.alias,
            "model": key.model,
            "version": key.version,
            "requests": tally.requests,
            "errors": tally.errors,
            "latency_ms_sum": tally.latency_ms_sum,
            "latency_ms_max": tally.latency_ms_max,
            "histogram": {str(k): v for k, v in sorted(tally.histogram.items())},
            "cost_nanos": tally.cost_nanos,
            "guard_violations": tally.guard_violations,
            "compared": tally.compared,
            "agreed": tally.agreed,
            "updated_at": at,
        }
        for key, tally in tallies
    ]
    if not rows:
        return 0
    with db.transaction() as session:
        _upsert(session, rows)
    return len(rows)


_KEY = ("endpoint", "variant", "model_version_id", "window_start", "worker")


def _upsert(session: Session, rows: list[dict[str, object]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(s.VariantStat).values(rows)
    updated = {c: stmt.excluded[c] for c in rows[0] if c not in _KEY}
    session.execute(stmt.on_conflict_do_update(index_elements=list(_KEY), set_=updated))


@dataclass(frozen=True)
class Figures:
    """A variant's figures summed over workers and minutes."""

    requests: int = 0
    errors: int = 0
    latency_ms_sum: float = 0.0
    latency_ms_max: float = 0.0
    histogram: dict[int, int] = field(default_factory=dict)
    cost_nanos: int = 0
    guard_violations: int = 0
    compared: int = 0
    agreed: int = 0

    @property
    def error_rate(self) -> float | None:
        """Errors per request (None with no request)."""
        return round(self.errors / self.requests, 6) if self.requests else None

    @property
    def mean_ms(self) -> float | None:
        """Mean latency (None with no request)."""
        return round(self.latency_ms_sum / self.requests, 4) if self.requests else None

    def quantile(self, q: float) -> float | None:
        """A latency quantile estimated from the histogram."""
        return quantile_ms(self.histogram, q)

    @property
    def agreement(self) -> float | None:
        """Shadow rows agreeing with the answer served, per row compared (None: none)."""
        return round(self.agreed / self.compared, 6) if self.compared else None

    @property
    def cost_per_1k_usd(self) -> float | None:
        """USD per 1000 requests (None with no request)."""
        from andon.serve.spec import NANOS

        return round(self.cost_nanos / self.requests * 1000 / NANOS, 9) if self.requests else None


def summarize(rows: Iterable[s.VariantStat]) -> Figures:
    """The sum of stored rows."""
    histogram: dict[int, int] = {}
    totals = {"requests": 0, "errors": 0, "cost_nanos": 0, "guard_violations": 0}
    totals.update(compared=0, agreed=0)
    latency_sum, latency_max = 0.0, 0.0
    for row in rows:
        for name in totals:
            totals[name] += int(getattr(row, name))
        latency_sum += float(row.latency_ms_sum)
        latency_max = max(latency_max, float(row.latency_ms_max))
        for index, count in (row.histogram or {}).items():
            histogram[int(index)] = histogram.get(int(index), 0) + int(count)
    return Figures(
        latency_ms_sum=round(latency_sum, 4),
        latency_ms_max=round(latency_max, 4),
        histogram=histogram,
        **totals,
    )
