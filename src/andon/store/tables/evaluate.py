"""Tables of the evaluation harness: one row per evaluation of a model version.

Only :mod:`andon.evaluate` touches these; other domains read evaluation facts through
:func:`andon.evaluate.facts.latest_facts`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class Evaluation(Base):
    """A suite run on one dataset version: the candidate's facts, the champion's, the deltas.

    ``metrics`` and ``champion_metrics`` share one shape (see :mod:`andon.evaluate.facts`);
    ``champion_metrics`` is ``None`` when the model had no champion to compare against.
    """

    __tablename__ = "evaluations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model_version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"))
    champion_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("model_versions.id"), nullable=True
    )
    dataset_version_id: Mapped[str] = mapped_column(String(80), index=True)
    suite_name: Mapped[str] = mapped_column(String(200))
    suite: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    champion_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    deltas: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


Index("ix_evaluations_version_created", Evaluation.model_version_id, Evaluation.created_at)
