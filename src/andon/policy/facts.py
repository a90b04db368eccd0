"""The facts gates and rollback rules read: their names and types, and how they are gathered.

Gate facts (``GATE_FACTS``), gathered for one model version by :func:`gate_facts`:

``eval.*``       the version's latest evaluation (:func:`andon.evaluate.facts.latest_facts`)
``champion.*``   the champion's metrics from that same evaluation. With no champion (the first
                 model of a line) the candidate stands in for it, so ``champion.f1 ==
                 eval.f1`` and every ``delta.*`` is 0: a relative clause such as
                 ``eval.f1 >= champion.f1 - 0.01`` passes and the absolute clauses decide.
                 ``has_champion`` tells the two cases apart.
``delta.*``      candidate minus champion for each number
``data.*``       the checks of the version's training dataset versions (:mod:`andon.data.facts`)
``card.*``       model card completeness (:func:`andon.cards.narrative.completeness_of`)

Domains above policy add gate facts of their own with :func:`register_gate_facts` (serve's
``primary.*``, ``canary.*``, ``shadow.*``: :mod:`andon.serve.facts`), as the board's lights
are registered: policy cannot import them, so they offer a schema and a gatherer here.

Monitor facts (``MONITOR_FACTS``) are what rollback rules read (``slo.*``, ``drift.*``,
``cost.*``); the monitoring work fills them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from andon.cards.queries import completeness_of
from andon.data.facts import TrainingDataFacts, training_data_facts
from andon.evaluate.facts import BIAS_METRICS, METRICS, latest_facts
from andon.store.tables import registry as r


def _metric_schema(prefix: str) -> dict[str, str]:
    out = {f"{prefix}.{m}": "number" for m in METRICS}
    out.update({f"{prefix}.bias.{b}": "number" for b in BIAS_METRICS})
    out[f"{prefix}.bias.attribute"] = "string"
    out[f"{prefix}.task"] = "string"
    out[f"{prefix}.slices"] = "map"
    return out


GATE_FACTS: dict[str, str] = {
    **_metric_schema("eval"),
    **_metric_schema("champion"),
    **{f"delta.{m}": "number" for m in METRICS},
    **{f"delta.bias.{b}": "number" for b in BIAS_METRICS},
    "has_champion": "bool",
    "has_evaluation": "bool",
    "data.checks.passed": "bool",
    "data.checks.red": "bool",
    "data.checks.checked": "number",
    "data.freshness.ok": "bool",
    "data.versions": "number",
    "card.complete": "bool",
    "card.missing": "list",
}
"""Every fact a gate may name, with its type."""

MONITOR_FACTS: dict[str, str] = {
    "slo.p50_ms": "number",
    "slo.p95_ms": "number",
    "slo.p99_ms": "number",
    "slo.error_rate": "number",
    "slo.availability": "number",
    "drift.status": "string",
    "drift.score": "number",
    "cost.per_1k": "number",
    "cost.daily_usd": "number",
}
"""Every fact a rollback rule may name (filled by monitoring), with its type."""


FactGatherer = Callable[[Session, str], dict[str, Any]]
"""Reads a registered domain's facts of one model version (by id) in the caller's session."""
_SOURCES: dict[str, tuple[dict[str, str], FactGatherer]] = {}


def register_gate_facts(name: str, schema: dict[str, str], gather: FactGatherer) -> None:
    """Offer the gate facts ``schema`` (path -> type), gathered by ``gather``, under ``name``.

    Registering a name again replaces it; a path another source (or policy) owns is refused.
    """
    previous = _SOURCES.get(name, ({}, gather))[0]
    owned = set(GATE_FACTS) - set(previous)
    clash = sorted(set(schema) & owned)
    if clash:
        raise ValueError(f"gate facts {', '.join(clash)} are already declared")
    for key in previous:
        GATE_FACTS.pop(key, None)
    GATE_FACTS.update(schema)
    _SOURCES[name] = (dict(schema), gather)


def _flatten(prefix: str, metrics: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if metrics is None:
        return out
    for key, value in metrics.items():
        if key == "bias" and isinstance(value, dict):
            for name, inner in value.items():
                out[f"{prefix}.bias.{name}"] = inner
        elif key == "slices" and isinstance(value, dict):
            out[f"{prefix}.slices"] = value
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float | str):
            out[f"{prefix}.{key}"] = value
    return out


def gate_facts(
    session: Session, version: r.ModelVersion
) -> tuple[dict[str, Any], str | None, TrainingDataFacts]:
    """Every gate fact of ``version`` (``None`` where it has no value), the evaluation read,
    and the training data checks (promotion refuses on red data on its own)."""
    facts: dict[str, Any] = dict.fromkeys(GATE_FACTS)
    evaluation = latest_facts(session, version.id)
    if evaluation is not None:
        champion = evaluation.champion_metrics
        facts.update(_flatten("eval", evaluation.metrics))
        facts.update(_flatten("champion", champion if champion is not None else evaluation.metrics))
        candidate, base = facts.copy(), facts.copy()
        for key in [k for k in GATE_FACTS if k.startswith("delta.")]:
            name = key.removeprefix("delta.")
            a, b = candidate.get(f"eval.{name}"), base.get(f"champion.{name}")
            if isinstance(a, int | float) and isinstance(b, int | float):
                facts[key] = round(a - b, 12)
        facts["has_champion"] = champion is not None
    facts["has_evaluation"] = evaluation is not None
    if evaluation is None:
        facts["has_champion"] = False
    data = training_data_facts(session, version.dataset_version_ids)
    facts.update({f"data.{k}": v for k, v in data.as_facts().items()})
    card = completeness_of(session, version.id).as_facts()
    facts["card.complete"], facts["card.missing"] = card["complete"], card["missing"]
    for schema, gather in _SOURCES.values():
        found = gather(session, version.id)
        facts.update({key: found.get(key) for key in schema})
    return facts, evaluation.evaluation_id if evaluation else None, data
