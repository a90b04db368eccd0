"""Gate facts from what the gateway served: how a model version did as a canary or a shadow,
beside the primary it ran next to (docs/canary.md, docs/policy.md).

Registered with policy on import (policy sits below serve and cannot import it), so a stage
gate may say ``canary.p95_ms < primary.p95_ms * 1.2 && canary.error_rate <= 0.01``. For the
version under promotion:

``canary.*``   its figures wherever it was served as a canary (every endpoint, every minute)
``shadow.*``   its figures wherever it ran as a shadow; ``shadow.agreement`` is the share of
               prediction rows equal to the answer served
``primary.*``  the primary variant of the same endpoints in the same minutes as the canary
               figures (as the shadow ones when it never ran as a canary): the same traffic
``has_canary``, ``has_shadow``  whether any request reached it as one

A variant that served nothing has 0 requests and no value for the rest, so a clause reading
it fails and says so (``has_canary && ...`` tests first).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.clock import as_utc
from andon.policy.facts import register_gate_facts
from andon.serve.variant_stats import VARIANTS, Figures, summarize
from andon.store.tables import serve as s

NUMBERS = (
    "requests",
    "errors",
    "error_rate",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "cost_per_1k",
    "guard_violations",
)
SERVING_FACTS: dict[str, str] = {
    **{f"{variant}.{name}": "number" for variant in VARIANTS for name in NUMBERS},
    "shadow.agreement": "number",
    "has_canary": "bool",
    "has_shadow": "bool",
}
"""Every serving fact a gate may name, with its type."""


def _numbers(prefix: str, figures: Figures) -> dict[str, Any]:
    return {
        f"{prefix}.requests": figures.requests,
        f"{prefix}.errors": figures.errors,
        f"{prefix}.error_rate": figures.error_rate,
        f"{prefix}.mean_ms": figures.mean_ms,
        f"{prefix}.p50_ms": figures.quantile(0.50),
        f"{prefix}.p95_ms": figures.quantile(0.95),
        f"{prefix}.p99_ms": figures.quantile(0.99),
        f"{prefix}.cost_per_1k": figures.cost_per_1k_usd,
        f"{prefix}.guard_violations": figures.guard_violations,
    }


def _minutes(rows: list[s.VariantStat]) -> set[tuple[str, datetime]]:
    return {(row.endpoint, as_utc(row.window_start)) for row in rows}


def serving_facts(session: Session, model_version_id: str) -> dict[str, Any]:
    """The serving facts of one model version (see the module's docstring)."""
    rows = list(
        session.scalars(
            select(s.VariantStat).where(
                s.VariantStat.model_version_id == model_version_id,
                s.VariantStat.variant.in_(("canary", "shadow")),
            )
        )
    )
    canary = [row for row in rows if row.variant == "canary"]
    shadow = [row for row in rows if row.variant == "shadow"]
    beside = _minutes(canary) or _minutes(shadow)
    primary: list[s.VariantStat] = []
    if beside:
        endpoints = sorted({endpoint for endpoint, _ in beside})
        since = min(minute for _, minute in beside)
        candidates = session.scalars(
            select(s.VariantStat).where(
                s.VariantStat.variant == "primary",
                s.VariantStat.endpoint.in_(endpoints),
                s.VariantStat.window_start >= since,
            )
        )
        primary = [r for r in candidates if (r.endpoint, as_utc(r.window_start)) in beside]
    shadow_figures = summarize(shadow)
    facts = {
        **_numbers("primary", summarize(primary)),
        **_numbers("canary", summarize(canary)),
        **_numbers("shadow", shadow_figures),
        "shadow.agreement": shadow_figures.agreement,
    }
    facts["has_canary"] = facts["canary.requests"] > 0
    facts["has_shadow"] = facts["shadow.requests"] > 0
    return facts


register_gate_facts("serving", SERVING_FACTS, serving_facts)
