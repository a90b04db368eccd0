"""Reading the per-variant figures of a model endpoint (``andon endpoint variants``).

The gateway's workers write them (:mod:`andon.serve.variant_stats`); this reads them back,
summed over workers and minutes, one record per variant and model version served.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select

from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Invalid
from andon.serve.endpoints import endpoint_row
from andon.serve.records import VariantRecord
from andon.serve.variant_stats import VARIANTS, summarize
from andon.store.tables import serve as s

MAX_MINUTES = 60 * 24 * 31


def endpoint_variants(ctx: Context, endpoint: str, *, minutes: int = 60) -> list[VariantRecord]:
    """The figures of each variant ``endpoint`` served in the last ``minutes`` (needs
    ``endpoint.read`` on the endpoint's team or asset): primary first, then canary, shadow."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise Invalid(f"minutes must be from 1 to {MAX_MINUTES}", field="minutes")
    since = ctx.clock.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    with ctx.db.read() as session:
        row = endpoint_row(session, endpoint)
        ctx.require("endpoint.read", team_id=row.team_id, asset_id=row.asset_id)
        stats = list(
            session.scalars(
                select(s.VariantStat).where(
                    s.VariantStat.endpoint == endpoint, s.VariantStat.window_start >= since
                )
            )
        )
    groups: dict[tuple[str, str], list[s.VariantStat]] = defaultdict(list)
    for stat in stats:
        groups[(stat.variant, stat.model_version_id)].append(stat)
    out = []
    for (variant, version_id), rows in groups.items():
        figures = summarize(rows)
        last = max(rows, key=lambda r: as_utc(r.window_start))
        out.append(
            VariantRecord(
                endpoint=endpoint,
                variant=variant,
                alias=last.alias,
                model=last.model,
                version=last.version,
                model_version_id=version_id,
                requests=figures.requests,
                errors=figures.errors,
                error_rate=figures.error_rate,
                mean_ms=figures.mean_ms,
                p50_ms=figures.quantile(0.50),
                p95_ms=figures.quantile(0.95),
                p99_ms=figures.quantile(0.99),
                max_ms=figures.latency_ms_max if figures.requests else None,
                cost_nanos=figures.cost_nanos,
                guard_violations=figures.guard_violations,
                compared=figures.compared,
                agreement=figures.agreement,
                first_minute=min(as_utc(r.window_start) for r in rows),
                last_minute=as_utc(last.window_start),
            )
        )
    order = {v: i for i, v in enumerate(VARIANTS)}
    out.sort(key=lambda r: (order.get(r.variant, 9), -r.version))
    return out
