"""Evaluation facts as other domains (gates, model cards) read them.

The shape of ``metrics`` (and ``champion_metrics``) stored by the harness, the contract every
reader relies on; keys appear only when the suite computed them::

    {
      "rows": 5000,                                   # predictions scored
      "task": "classification" | "regression",
      "accuracy": 0.91, "precision": 0.88, "recall": 0.84, "f1": 0.86,
      "roc_auc": 0.95, "log_loss": 0.23,             # classification
      "rmse": 1.2, "mae": 0.9,                        # regression
      "latency_p50_ms": 0.4, "latency_p95_ms": 0.9,   # on the serving runtime
      "cost_per_1k": 0.02,                            # from the suite's cost model
      "bias": {"attribute": "segment",
               "demographic_parity_diff": 0.03, "equalized_odds_diff": 0.05},
      "slices": {"segment=retail": {"rows": 3100, "f1": 0.87, ...}, ...}
    }

``deltas`` holds candidate minus champion for every numeric top-level key both have.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.store.tables import evaluate as e

METRICS: tuple[str, ...] = (
    "rows",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "rmse",
    "mae",
    "latency_p50_ms",
    "latency_p95_ms",
    "cost_per_1k",
)
"""Numeric top-level metrics an evaluation may hold (keys appear only when computed)."""

BIAS_METRICS: tuple[str, ...] = ("demographic_parity_diff", "equalized_odds_diff")
"""Numeric keys of ``bias``."""


@dataclass(frozen=True, slots=True)
class EvaluationFacts:
    """The latest evaluation of a model version, as gates and cards read it."""

    evaluation_id: str
    model_version_id: str
    champion_version_id: str | None
    dataset_version_id: str
    suite_name: str
    metrics: dict[str, Any]
    champion_metrics: dict[str, Any] | None
    deltas: dict[str, Any]
    created_by: str
    created_at: datetime


def latest_facts(session: Session, model_version_id: str) -> EvaluationFacts | None:
    """The newest evaluation of ``model_version_id``, or ``None`` if it was never evaluated.

    No permission check: callers are services that already checked read access to the model.
    """
    row = session.scalars(
        select(e.Evaluation)
        .where(e.Evaluation.model_version_id == model_version_id)
        .order_by(e.Evaluation.created_at.desc(), e.Evaluation.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return EvaluationFacts(
        evaluation_id=row.id,
        model_version_id=row.model_version_id,
        champion_version_id=row.champion_version_id,
        dataset_version_id=row.dataset_version_id,
        suite_name=row.suite_name,
        metrics=dict(row.metrics),
        champion_metrics=dict(row.champion_metrics) if row.champion_metrics is not None else None,
        deltas=dict(row.deltas),
        created_by=row.created_by,
        created_at=row.created_at,
    )
