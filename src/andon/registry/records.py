"""Typed records the registry services return (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from andon.core.records import one_of, published


# Not frozen: listings build these by the hundred and a frozen dataclass costs four times as
# much to build (benchmarks/registry.py).
@published
@dataclass(slots=True)
class RunRecord:
    """A training or experiment run; listings leave ``artifacts`` and ``datasets`` empty
    (read the run for them)."""

    id: str
    name: str
    team: str
    status: Annotated[str, one_of("running", "finished", "failed", "killed")]
    error: str
    git_commit: str | None
    env_hash: str | None
    created_by: str
    started_at: datetime
    ended_at: datetime | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    """The latest value of each metric."""
    artifacts: dict[str, str] = field(default_factory=dict)
    """Artifact name to content digest."""
    datasets: list[str] = field(default_factory=list)
    """Dataset version ids the run read."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "team": self.team,
            "status": self.status,
            "error": self.error,
            "git_commit": self.git_commit,
            "env_hash": self.env_hash,
            "created_by": self.created_by,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "params": self.params,
            "metrics": self.metrics,
            "artifacts": self.artifacts,
            "datasets": self.datasets,
        }


@published
@dataclass(frozen=True)
class VersionRecord:
    """One immutable model version."""

    id: str
    model: str
    team: str
    version: int
    digest: str  # the hex alone; as_dict (the API's JSON) adds the "sha256:" prefix
    """sha256:<hex> of the artifact's bytes."""
    format: str
    size: int
    signature: dict[str, Any]
    run_id: str | None
    dataset_version_ids: list[str]
    trusted_pickle: bool
    aliases: list[str]
    created_by: str
    created_at: datetime

    @property
    def ref(self) -> str:
        """``name@version``."""
        return f"{self.model}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "model": self.model,
            "team": self.team,
            "version": self.version,
            "digest": f"sha256:{self.digest}",
            "format": self.format,
            "size": self.size,
            "signature": self.signature,
            "run_id": self.run_id,
            "dataset_version_ids": self.dataset_version_ids,
            "trusted_pickle": self.trusted_pickle,
            "aliases": self.aliases,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


@published  # not frozen, as RunRecord
@dataclass(slots=True)
class ModelRecord:
    """A model, its aliases and (when read one by one) its versions, newest first."""

    id: str
    name: str
    team: str
    asset_id: str
    latest_version: int
    aliases: dict[str, int]
    """Alias name to the version it points at."""
    created_at: datetime
    versions: list[VersionRecord] = field(default_factory=list)
    """Newest first; empty in listings."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "team": self.team,
            "asset_id": self.asset_id,
            "latest_version": self.latest_version,
            "aliases": self.aliases,
            "created_at": self.created_at.isoformat(),
            "versions": [v.as_dict() for v in self.versions],
        }


@published
@dataclass(frozen=True)
class AliasMove:
    """An alias moved from one version (or nowhere) to another."""

    model: str
    alias: str
    previous: int | None
    version: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "alias": self.alias,
            "previous": self.previous,
            "version": self.version,
        }
