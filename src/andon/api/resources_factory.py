"""Response bodies of the AI factory's endpoints: runs, models, cards, evaluations, gates,
approvals, promotions and lineage.

Each model describes the ``as_dict()`` of the record the service returns (registry, evaluate,
policy, cards and lineage records); free-form parts (signatures, suites, metrics, facts) stay
objects, as the records keep them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from andon.api.resources import Page
from andon.registry.records import ModelRecord, RunRecord

# --------------------------------------------------------------------------- runs


class MetricPoint(BaseModel):
    step: int
    value: float


class MetricHistory(BaseModel):
    """Every value logged for one metric of a run, by step."""

    run_id: str
    key: str
    points: list[MetricPoint]


# --------------------------------------------------------------------------- models


# --------------------------------------------------------------------------- model cards


class Completeness(BaseModel):
    complete: bool = Field(description="Every required narrative section is written.")
    missing: list[str]


class CardSection(BaseModel):
    name: str
    question: str
    text: str
    required: bool
    from_version: int | None = Field(description="The version whose text shows through.")
    updated_by: str | None
    updated_at: datetime | None


class CardDataset(BaseModel):
    id: str
    dataset: str | None
    row_count: int | None
    schema_hash: str | None


class CardTrainingRun(BaseModel):
    id: str
    name: str
    status: str
    git_commit: str | None
    env_hash: str | None
    params: dict[str, str]
    metrics: dict[str, float]


class CardEvaluation(BaseModel):
    id: str
    suite: str
    dataset: CardDataset
    created_by: str
    created_at: datetime | None
    metrics: dict[str, Any]
    slices: dict[str, dict[str, Any]]
    bias: dict[str, Any] | None
    champion: str | None = Field(description="name@version the candidate was compared with.")
    champion_metrics: dict[str, Any] | None
    deltas: dict[str, Any]


class CardApproval(BaseModel):
    id: str
    stage: str
    role: str
    approver: str
    reason: str
    decided_at: datetime | None


class PickleTrust(BaseModel):
    by: str
    at: datetime | None
    reason: str


class CardArtifact(BaseModel):
    format: str
    digest: str
    size: int
    signature: dict[str, Any]
    trusted_pickle: bool
    trusted_by: PickleTrust | None


class ModelCard(BaseModel):
    """The model card (schema ``andon.model-card/1``, docs/cards.md): facts and narrative."""

    schema_: Literal["andon.model-card/1"] = Field(alias="schema")
    id: str = Field(description="The model version id.")
    model: str
    team: str
    version: int
    ref: str
    aliases: list[str]
    owners: list[str]
    created_by: str
    created_at: datetime | None
    generated_at: datetime | None
    completeness: Completeness
    sections: list[CardSection]
    training_run: CardTrainingRun | None
    training_data: list[CardDataset]
    evaluation: CardEvaluation | None
    approvals: list[CardApproval]
    artifact: CardArtifact


# --------------------------------------------------------------------------- evaluations


class Champion(BaseModel):
    version: int | None
    model_version_id: str
    metrics: dict[str, Any] | None


class Evaluation(BaseModel):
    """One stored evaluation: the candidate's metrics, the champion's and the deltas."""

    id: str
    model: str
    team: str
    version: int
    model_version_id: str
    champion: Champion | None
    dataset: str
    dataset_version_id: str
    suite: dict[str, Any]
    metrics: dict[str, Any]
    deltas: dict[str, Any]
    created_by: str
    created_at: datetime


# --------------------------------------------------------------------------- gates, approvals


class GateDecision(BaseModel):
    """A stored gate decision: every fact it read and each clause's outcome."""

    id: str
    model: str
    version: int
    stage: str
    policy_id: str
    policy_version: int
    gate: str
    passed: bool
    facts: dict[str, Any]
    clauses: list[dict[str, Any]] = Field(
        description="Each clause: its text, passed, the values it read, an error if any."
    )
    evaluation_id: str | None
    decided_by: str
    decided_at: datetime


class Approval(BaseModel):
    id: str
    role: str
    principal: str
    decision: Literal["approve", "reject"]
    reason: str
    decided_at: datetime


class ApprovalRequest(BaseModel):
    """A request for the approvals a stage requires, and the decisions on it so far."""

    id: str
    model: str
    team: str
    version: int
    stage: str
    policy_version: int
    required_roles: list[str]
    missing_roles: list[str]
    status: Literal["pending", "approved", "rejected", "expired", "used"]
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    approvals: list[Approval]


class Promotion(BaseModel):
    """A stage alias moved by a promotion or a rollback."""

    id: str
    model: str
    stage: str
    alias: str
    kind: Literal["promote", "rollback"]
    from_version: int | None
    to_version: int
    gate_decision_id: str | None
    request_id: str | None
    reason: str
    promoted_by: str
    promoted_at: datetime


# --------------------------------------------------------------------------- lineage


class LineageNode(BaseModel):
    id: str
    kind: str


class LineageEdge(BaseModel):
    src: str
    src_kind: str
    relation: str
    dst: str
    dst_kind: str


class LineageGraph(BaseModel):
    """The objects reachable from ``root`` and the edges between them."""

    root: str
    direction: Literal["upstream", "downstream", "both"]
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class VersionCoverage(BaseModel):
    id: str
    model: str
    team: str
    version: int
    ref: str
    champion: bool = Field(description="The champion alias points at it now.")
    complete: bool
    links: dict[str, list[str]] = Field(description="Link kind to the ids found.")
    missing: list[str] = Field(description="Link kinds the chain lacks, in chain order.")


class LineageCoverage(BaseModel):
    """The share of production model versions whose lineage chain is complete."""

    total: int
    complete: int
    share: float
    links: list[str]
    versions: list[VersionCoverage]


# --------------------------------------------------------------------------- pages


class RunPage(Page[RunRecord]):
    """A page of runs."""


class ModelPage(Page[ModelRecord]):
    """A page of models."""


class EvaluationPage(Page[Evaluation]):
    """A page of evaluations."""


class ApprovalRequestPage(Page[ApprovalRequest]):
    """A page of approval requests."""


class PromotionPage(Page[Promotion]):
    """A page of promotions and rollbacks."""
