"""What a model card holds: typed, JSON-ready records (schema ``andon.model-card/1``).

:meth:`ModelCard.as_dict` is the stable JSON form documented in docs/cards.md; fields are only
ever added to schema 1, never renamed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from andon.core.records import published

SCHEMA = "andon.model-card/1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@published
@dataclass(frozen=True, slots=True)
class NarrativeSection:
    """One narrative section: its question, the owner's text ("" when unwritten), who wrote it."""

    name: str
    question: str
    text: str
    required: bool
    from_version: int | None
    """The version whose text shows through."""
    updated_by: str | None
    updated_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "question": self.question,
            "text": self.text,
            "required": self.required,
            "from_version": self.from_version,
            "updated_by": self.updated_by,
            "updated_at": _iso(self.updated_at),
        }


@published
@dataclass(frozen=True, slots=True)
class DatasetFact:
    """A dataset version the model was trained or evaluated on.

    ``dataset``, ``row_count`` and ``schema_hash`` are ``None`` when the data domain has no
    record of the id (for example a training script's own fingerprint of its data).
    """

    id: str
    dataset: str | None
    row_count: int | None
    schema_hash: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "dataset": self.dataset,
            "row_count": self.row_count,
            "schema_hash": self.schema_hash,
        }


@published
@dataclass(frozen=True, slots=True)
class TrainingRun:
    """The run that produced the version."""

    id: str
    name: str
    status: str
    git_commit: str | None
    env_hash: str | None
    params: dict[str, str]
    metrics: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "git_commit": self.git_commit,
            "env_hash": self.env_hash,
            "params": dict(sorted(self.params.items())),
            "metrics": dict(sorted(self.metrics.items())),
        }


@published
@dataclass(frozen=True, slots=True)
class EvaluationFact:
    """The latest evaluation: metrics, slices, fairness, and the deltas against the champion."""

    id: str
    suite: str
    dataset: DatasetFact
    created_by: str
    created_at: datetime
    metrics: dict[str, Any]  # top-level metrics (numbers and the task), no slices or bias
    slices: dict[str, dict[str, Any]]
    bias: dict[str, Any] | None
    champion: str | None
    """name@version the candidate was compared with."""
    champion_metrics: dict[str, Any] | None
    deltas: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "suite": self.suite,
            "dataset": self.dataset.as_dict(),
            "created_by": self.created_by,
            "created_at": _iso(self.created_at),
            "metrics": self.metrics,
            "slices": self.slices,
            "bias": self.bias,
            "champion": self.champion,
            "champion_metrics": self.champion_metrics,
            "deltas": self.deltas,
        }


@published
@dataclass(frozen=True, slots=True)
class ApprovalFact:
    """One recorded approval of the version (filled from the policy domain)."""

    id: str
    stage: str
    role: str
    approver: str
    reason: str
    decided_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "stage": self.stage,
            "role": self.role,
            "approver": self.approver,
            "reason": self.reason,
            "decided_at": _iso(self.decided_at),
        }


@published
@dataclass(frozen=True, slots=True)
class PickleTrust:
    """Who registered a pickle as trusted (from the audit log), when and why."""

    by: str
    at: datetime
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"by": self.by, "at": _iso(self.at), "reason": self.reason}


@published
@dataclass(frozen=True, slots=True)
class ArtifactFact:
    """The stored artifact: format, content digest, size, signature, pickle trust."""

    format: str
    digest: str  # sha256:<hex>
    size: int
    signature: dict[str, Any]
    trusted_pickle: bool
    trusted_by: PickleTrust | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "format": self.format,
            "digest": self.digest,
            "size": self.size,
            "signature": self.signature,
            "trusted_pickle": self.trusted_pickle,
            "trusted_by": self.trusted_by.as_dict() if self.trusted_by else None,
        }


@dataclass(frozen=True, slots=True)
class ModelCard:
    """Everything the card of one model version says, facts and narrative."""

    id: str  # the model version id
    model: str
    team: str
    version: int
    aliases: list[str]
    owners: list[str]
    created_by: str
    created_at: datetime
    sections: list[NarrativeSection]
    complete: bool
    missing: list[str]
    training_run: TrainingRun | None
    training_data: list[DatasetFact]
    evaluation: EvaluationFact | None
    artifact: ArtifactFact
    generated_at: datetime
    approvals: list[ApprovalFact] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """``name@version``."""
        return f"{self.model}@{self.version}"

    def section(self, name: str) -> NarrativeSection:
        """The narrative section ``name``."""
        return next(s for s in self.sections if s.name == name)

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON form (schema ``andon.model-card/1``, docs/cards.md)."""
        return {
            "schema": SCHEMA,
            "id": self.id,
            "model": self.model,
            "team": self.team,
            "version": self.version,
            "ref": self.ref,
            "aliases": list(self.aliases),
            "owners": list(self.owners),
            "created_by": self.created_by,
            "created_at": _iso(self.created_at),
            "generated_at": _iso(self.generated_at),
            "completeness": {"complete": self.complete, "missing": list(self.missing)},
            "sections": [s.as_dict() for s in self.sections],
            "training_run": self.training_run.as_dict() if self.training_run else None,
            "training_data": [d.as_dict() for d in self.training_data],
            "evaluation": self.evaluation.as_dict() if self.evaluation else None,
            "approvals": [a.as_dict() for a in self.approvals],
            "artifact": self.artifact.as_dict(),
        }
