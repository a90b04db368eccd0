"""Tables of the data domain: contracts and their versions, datasets, versions, check runs.

Only :mod:`andon.data` services and queries touch these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class DataContract(Base):
    """An ODCS contract (by its ``id``), owned by one team."""

    __tablename__ = "data_contracts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class DataContractVersion(Base):
    """One applied version of a contract: the YAML as given, its digest and base folder."""

    __tablename__ = "data_contract_versions"
    __table_args__ = (Unique("contract_id", "version"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("data_contracts.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(40))
    content: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    base_dir: Mapped[str] = mapped_column(Text)
    applied_by: Mapped[str] = mapped_column(String(100))
    applied_at: Mapped[datetime] = mapped_column(Timestamp)


class Dataset(Base):
    """A table a contract describes; registered as an asset of the contract's team."""

    __tablename__ = "datasets"
    __table_args__ = (Unique("team_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contract_id: Mapped[str] = mapped_column(ForeignKey("data_contracts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class DatasetVersion(Base):
    """What a dataset held: schema hash, row count, per-column fingerprints (content-derived id)."""

    __tablename__ = "dataset_versions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    schema_hash: Mapped[str] = mapped_column(String(64))
    columns: Mapped[list[Any]] = mapped_column(JSON)
    row_count: Mapped[int] = mapped_column(BigInteger)
    fingerprints: Mapped[dict[str, str]] = mapped_column(JSON)
    location: Mapped[str] = mapped_column(Text)
    artifact_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    engine: Mapped[str] = mapped_column(String(60))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class CheckRun(Base):
    """One run of a contract version's checks."""

    __tablename__ = "check_runs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contract_version_id: Mapped[str] = mapped_column(
        ForeignKey("data_contract_versions.id"), index=True
    )
    server: Mapped[str] = mapped_column(String(100))
    passed: Mapped[bool] = mapped_column(Boolean)
    errors_failed: Mapped[int] = mapped_column(Integer)
    warnings_failed: Mapped[int] = mapped_column(Integer)
    queries: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    run_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(Timestamp)


class CheckRunDataset(Base):
    """Which dataset version a run read, per dataset."""

    __tablename__ = "check_run_datasets"
    run_id: Mapped[str] = mapped_column(ForeignKey("check_runs.id"), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), primary_key=True)
    dataset_version_id: Mapped[str] = mapped_column(ForeignKey("dataset_versions.id"), index=True)


class CheckResult(Base):
    """One check's outcome within a run."""

    __tablename__ = "check_results"
    run_id: Mapped[str] = mapped_column(ForeignKey("check_runs.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None for what a contract declares beyond any one table (an SLA naming no column).
    dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id"), index=True, nullable=True
    )
    check: Mapped[str] = mapped_column(String(300))
    column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # pass, fail, error or not_checked
    severity: Mapped[str] = mapped_column(String(10))
    observed: Mapped[Any] = mapped_column(JSON, nullable=True)
    threshold: Mapped[dict[str, Any]] = mapped_column(JSON)
    failed_rows: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    samples: Mapped[list[Any]] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(Text)
