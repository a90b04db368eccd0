"""Tables of schema changes: what changed between contract versions or in a live table.

One row per applied contract version that differs from the active one (``source`` =
``contract``), and per snapshot whose live schema breaks the active contract (``source`` =
``snapshot``). Only :mod:`andon.data` services touch these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class SchemaChange(Base):
    """A set of schema changes and its decision.

    ``status``: ``pending`` (a breaking contract version awaiting a data-steward), ``approved``
    or ``rejected`` (decided), ``accepted`` (non-breaking, active at once), ``open`` (a live
    table breaks the contract) or ``resolved`` (a later snapshot conforms again).
    """

    __tablename__ = "schema_changes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("data_contracts.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    # The version applied (contract) or the active version the table was compared with.
    version_id: Mapped[str] = mapped_column(ForeignKey("data_contract_versions.id"), index=True)
    # The active version the new one was compared with (contract changes only).
    base_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("data_contract_versions.id"), nullable=True
    )
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    dataset_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("dataset_versions.id"), nullable=True
    )
    breaking: Mapped[bool] = mapped_column(Boolean)
    changes: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
