"""Tables of the registry: runs, models, versions, aliases and model card sections.

Written by ``andon.registry`` (and ``andon.cards`` for card sections) services only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.tables.base import Base, Timestamp


class Run(Base):
    """One tracked training (or any) run: ``running`` until it ends finished, failed or killed."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    git_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    env_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    # The running process's last sign of life; past the lease it is taken for dead (killed).
    heartbeat_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class RunParam(Base):
    __tablename__ = "run_params"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


class RunMetric(Base):
    """The latest value of each metric of a run (what ``--where`` filters on)."""

    __tablename__ = "run_metrics"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    step: Mapped[int] = mapped_column(Integer)


class RunMetricStep(Base):
    """Every logged value of every metric, by step (the history)."""

    __tablename__ = "run_metric_steps"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    logged_at: Mapped[datetime] = mapped_column(Timestamp)


class RunArtifact(Base):
    __tablename__ = "run_artifacts"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)


class RunDataset(Base):
    """A dataset version a run read, by id (the data domain owns what the id names)."""

    __tablename__ = "run_datasets"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    dataset_version_id: Mapped[str] = mapped_column(String(80), primary_key=True)


class Model(Base):
    """A named model of one team; ``last_version`` allocates version numbers atomically."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("team_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), unique=True)
    last_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class ModelVersion(Base):
    """An immutable version: artifact digest and format, signature, run and datasets."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    signature: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"), nullable=True, index=True)
    dataset_version_ids: Mapped[list[str]] = mapped_column(JSON)
    trusted_pickle: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class ModelAlias(Base):
    """A movable name (``champion``, ``challenger``, ...) for one version of a model."""

    __tablename__ = "model_aliases"
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


Index("ix_run_metrics_key_value", RunMetric.key, RunMetric.value)
Index("ix_run_params_key_value", RunParam.key, RunParam.value)


class ModelCardSection(Base):
    """One narrative section of a model version's card, as its owner wrote it."""

    __tablename__ = "model_card_sections"
    model_version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    section: Mapped[str] = mapped_column(String(40), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
