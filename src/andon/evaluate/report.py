"""An evaluation as rows for people: metric, candidate, champion, delta and its verdict.

The CLI table and the console page both render these rows, so "better" means the same thing
everywhere: higher is better except for the metrics in :data:`LOWER_IS_BETTER`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from andon.evaluate.facts import BIAS_METRICS, METRICS
from andon.evaluate.records import EvaluationRecord

LOWER_IS_BETTER = frozenset(
    {
        "log_loss",
        "rmse",
        "mae",
        "latency_p50_ms",
        "latency_p95_ms",
        "cost_per_1k",
        "bias.demographic_parity_diff",
        "bias.equalized_odds_diff",
    }
)
SLICE_METRICS = ("rows", "f1", "precision", "recall", "rmse", "mae", "positive_rate")


@dataclass(frozen=True)
class MetricRow:
    """One metric of the candidate, with the champion's value and the delta when compared."""

    name: str
    candidate: Any
    champion: Any
    delta: float | None
    verdict: str  # "better", "worse", "same" or "" (nothing to compare)


def _verdict(name: str, delta: float | None) -> str:
    if delta is None or name == "rows":
        return ""
    if delta == 0:
        return "same"
    better = delta < 0 if name in LOWER_IS_BETTER else delta > 0
    return "better" if better else "worse"


def metric_rows(evaluation: EvaluationRecord) -> list[MetricRow]:
    """The top-level metrics, then the bias metrics, in a stable order."""
    mine, theirs = evaluation.metrics, evaluation.champion_metrics
    rows = []
    for name in METRICS:
        if name not in mine:
            continue
        delta = evaluation.deltas.get(name)
        rows.append(
            MetricRow(
                name,
                mine[name],
                None if theirs is None else theirs.get(name),
                delta,
                _verdict(name, delta),
            )
        )
    bias = mine.get("bias") or {}
    their_bias = (theirs or {}).get("bias") or {}
    for key in BIAS_METRICS if bias else ():
        name = f"bias.{key}"
        value, other = bias.get(key), their_bias.get(key)
        delta = None if value is None or other is None else round(value - other, 6)
        rows.append(
            MetricRow(
                name, value, other if theirs is not None else None, delta, _verdict(name, delta)
            )
        )
    return rows


def slice_rows(evaluation: EvaluationRecord) -> tuple[list[str], list[tuple[str, list[Any]]]]:
    """Columns shown for slices, and one row per slice (``attr=value``) with their values."""
    slices: dict[str, dict[str, Any]] = evaluation.metrics.get("slices") or {}
    shown = [n for n in SLICE_METRICS if any(n in s for s in slices.values())]
    return shown, [(key, [values.get(n) for n in shown]) for key, values in slices.items()]


def fmt(value: Any) -> str:
    """A value for a person: floats to 4 significant digits, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
