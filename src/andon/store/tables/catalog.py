"""Tables of the data catalog: field classifications and enrichment proposals.

Only :mod:`andon.data.catalog` touches these (and :mod:`andon.data.profile` reads the
classifications, to mask PII).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class FieldClassification(Base):
    """The latest classification of one column of a dataset (replaced by each classify run)."""

    __tablename__ = "catalog_classifications"
    __table_args__ = (Unique("dataset_id", "column"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    column: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    tags: Mapped[list[Any]] = mapped_column(JSON)  # [{"tag", "confidence", "evidence"}]
    confidence: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)  # sampled values, formats seen
    classified_by: Mapped[str] = mapped_column(String(100))
    classified_at: Mapped[datetime] = mapped_column(Timestamp)


class CatalogProposal(Base):
    """A proposed piece of catalog metadata, pending until a data-steward decides."""

    __tablename__ = "catalog_proposals"
    __table_args__ = (Index("ix_catalog_proposals_dataset_status", "dataset_id", "status"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[Any] = mapped_column(JSON)
    rationale: Mapped[str] = mapped_column(Text)
    enricher: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))  # pending | accepted | rejected
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    contract_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("data_contract_versions.id"), nullable=True
    )
