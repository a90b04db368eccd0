"""Response bodies of the model endpoints that no record gives as it is: the model card's JSON
form, evaluations, and the pages.

Models, versions and alias moves are the registry's records
(:mod:`andon.registry.records`); the card's parts are the cards domain's
(:mod:`andon.cards.records`); a card's completeness is ``cards.narrative.Completeness``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from andon.api.resources import Page
from andon.cards.narrative import Completeness
from andon.cards.records import (
    ApprovalFact,
    ArtifactFact,
    DatasetFact,
    EvaluationFact,
    NarrativeSection,
    TrainingRun,
)
from andon.registry.records import ModelRecord


class ModelCardResponse(BaseModel):
    """The model card (schema ``andon.model-card/1``, docs/cards.md): facts and narrative.

    ``cards.records.ModelCard`` as its ``as_dict`` publishes it: with the ``schema`` tag and
    the ``ref``, and ``complete`` and ``missing`` nested under ``completeness``."""

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
    sections: list[NarrativeSection]
    training_run: TrainingRun | None
    training_data: list[DatasetFact]
    evaluation: EvaluationFact | None
    approvals: list[ApprovalFact]
    artifact: ArtifactFact


class ChampionResponse(BaseModel):
    """The version an evaluation compared the candidate with, and its metrics."""

    version: int | None
    model_version_id: str
    metrics: dict[str, Any] | None


class EvaluationResponse(BaseModel):
    """One stored evaluation: the candidate's metrics, the champion's and the deltas.

    ``evaluate.records.EvaluationRecord`` as its ``as_dict`` publishes it: the champion's
    version, id and metrics nested under ``champion``, without ``suite_name`` (the suite
    carries its name)."""

    id: str
    model: str
    team: str
    version: int
    model_version_id: str
    champion: ChampionResponse | None
    dataset: str
    dataset_version_id: str
    suite: dict[str, Any]
    metrics: dict[str, Any]
    deltas: dict[str, Any]
    created_by: str
    created_at: datetime


class ModelPage(Page[ModelRecord]):
    """A page of models."""


class EvaluationPage(Page[EvaluationResponse]):
    """A page of evaluations."""
