"""The typed record the evaluation services return (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EvaluationRecord:
    """One stored evaluation: the candidate's metrics, the champion's, and the deltas.

    ``as_dict`` is the documented JSON report (``docs/evaluate.md``).
    """

    id: str
    model: str
    team: str
    version: int
    model_version_id: str
    champion_version: int | None
    champion_version_id: str | None
    dataset: str
    dataset_version_id: str
    suite_name: str
    suite: dict[str, Any]
    metrics: dict[str, Any]
    champion_metrics: dict[str, Any] | None
    deltas: dict[str, Any]
    created_by: str
    created_at: datetime

    @property
    def ref(self) -> str:
        """``name@version`` of the evaluated model version."""
        return f"{self.model}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "model": self.model,
            "team": self.team,
            "version": self.version,
            "model_version_id": self.model_version_id,
            "champion": (
                None
                if self.champion_version_id is None
                else {
                    "version": self.champion_version,
                    "model_version_id": self.champion_version_id,
                    "metrics": self.champion_metrics,
                }
            ),
            "dataset": self.dataset,
            "dataset_version_id": self.dataset_version_id,
            "suite": self.suite,
            "metrics": self.metrics,
            "deltas": self.deltas,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }
