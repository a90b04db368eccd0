"""Typed records the data services return (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FAILING = ("fail", "error")
"""Result statuses that count against a run (``pass`` and ``not_checked`` do not)."""


@dataclass(frozen=True)
class ContractVersionRecord:
    """An applied contract version."""

    id: str
    contract: str
    version: str
    status: str
    team: str
    datasets: list[str]
    digest: str
    applied_by: str
    applied_at: datetime
    created: bool = True
    granted_root: str | None = None  # the folder this apply granted its team, if any

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "contract": self.contract,
            "version": self.version,
            "status": self.status,
            "team": self.team,
            "datasets": self.datasets,
            "digest": self.digest,
            "applied_by": self.applied_by,
            "applied_at": self.applied_at.isoformat(),
            "created": self.created,
            "granted_root": self.granted_root,
        }


@dataclass(frozen=True)
class FirstApply:
    """What a check run of a contract file not applied yet applied first."""

    version: ContractVersionRecord
    team_created: bool = False  # the team was created for the principal (a fresh install)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: the applied version's, and whether its team was created."""
        return {**self.version.as_dict(), "team_created": self.team_created}


@dataclass(frozen=True)
class RunReport:
    """A stored check run and its results (the documented JSON of `andon check run`)."""

    run_id: str
    contract: str
    contract_version: str
    server: str
    dataset_version: dict[str, str]
    passed: bool
    results: list[dict[str, Any]]
    queries: int
    seconds: float
    started_at: datetime
    schema_incidents: dict[str, str] = field(default_factory=dict)  # dataset -> opened now
    applied: FirstApply | None = None  # the contract file this run applied first, if any
    strict: bool = False  # a not_checked result failed the run

    @property
    def not_checked(self) -> list[str]:
        """The checks the contract declares that andon did not run."""
        return [r["check"] for r in self.results if r["status"] == "not_checked"]

    @property
    def errors_failed(self) -> int:
        """Error-severity checks that failed or could not run."""
        return sum(1 for r in self.results if r["status"] in FAILING and r["severity"] == "error")

    @property
    def warnings_failed(self) -> int:
        """Warning-severity checks that failed."""
        return sum(1 for r in self.results if r["status"] in FAILING and r["severity"] != "error")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "contract": self.contract,
            "contract_version": self.contract_version,
            "server": self.server,
            "dataset_version": self.dataset_version,
            "passed": self.passed,
            "started_at": self.started_at.isoformat(),
            "queries": self.queries,
            "results": self.results,
            "schema_incidents": self.schema_incidents,
            "applied": self.applied.as_dict() if self.applied else None,
            "strict": self.strict,
            "not_checked": self.not_checked,
        }


@dataclass(frozen=True)
class HistoryRow:
    """One run as seen from one dataset."""

    run_id: str
    started_at: datetime
    dataset_version: str
    contract_version: str
    passed: int
    failed_errors: int
    failed_warnings: int
    failing: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "dataset_version": self.dataset_version,
            "contract_version": self.contract_version,
            "passed": self.passed,
            "failed_errors": self.failed_errors,
            "failed_warnings": self.failed_warnings,
            "failing": self.failing,
        }


@dataclass(frozen=True)
class DatasetVersionRecord:
    """A dataset version: what the table held."""

    id: str
    dataset: str
    team: str
    schema_hash: str
    columns: list[list[str]]
    row_count: int
    fingerprints: dict[str, str]
    location: str
    artifact_digest: str | None
    created_at: datetime
    created: bool = True
    schema_incident: str | None = None  # a schema change this snapshot opened (it breaks)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "dataset": self.dataset,
            "team": self.team,
            "schema_hash": self.schema_hash,
            "columns": self.columns,
            "row_count": self.row_count,
            "fingerprints": self.fingerprints,
            "location": self.location,
            "artifact": f"sha256:{self.artifact_digest}" if self.artifact_digest else None,
            "created_at": self.created_at.isoformat(),
            "created": self.created,
            "schema_incident": self.schema_incident,
        }


@dataclass(frozen=True)
class VersionDiff:
    """What changed between two versions of a dataset."""

    old: str
    new: str
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: list[dict[str, str]]
    row_count: tuple[int, int]
    changed_columns: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Whether nothing at all changed."""
        return not (
            self.added_columns
            or self.removed_columns
            or self.retyped_columns
            or self.changed_columns
            or self.row_count[0] != self.row_count[1]
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "old": self.old,
            "new": self.new,
            "identical": self.identical,
            "added_columns": self.added_columns,
            "removed_columns": self.removed_columns,
            "retyped_columns": self.retyped_columns,
            "row_count": {"old": self.row_count[0], "new": self.row_count[1]},
            "changed_columns": self.changed_columns,
        }


@dataclass(frozen=True)
class ContractDocument:
    """An applied contract version's document, as the ODCS standard writes it."""

    contract: str
    version: str
    status: str
    team: str
    document: dict[str, Any]  # the standard's shape (andon's old dialect upgraded)
    upgraded: list[str]  # how the stored document departed from the standard ([] when none)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "contract": self.contract,
            "version": self.version,
            "status": self.status,
            "team": self.team,
            "document": self.document,
            "upgraded": self.upgraded,
        }
