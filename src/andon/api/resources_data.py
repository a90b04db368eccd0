"""Response bodies of the data endpoints: the data services' records (``as_dict()``) described.

Values read from the data itself (observed metrics, thresholds, samples, profile minima and
maxima) keep whatever JSON type the data has, so their schema is open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from andon.api.resources import Color, Page


class ContractVersion(BaseModel):
    """An applied contract version (for listings: the active version of each contract)."""

    id: str
    contract: str = Field(description="The contract's ODCS `id`.")
    version: str
    status: str = Field(description="ODCS status, or `pending`/`rejected` awaiting a steward.")
    team: str
    datasets: list[str] = Field(description="Names of the datasets (schema objects) it describes.")
    digest: str
    applied_by: str
    applied_at: datetime
    created: bool = Field(description="False when the same content was applied before.")


class CheckResult(BaseModel):
    """One check's outcome (the documented result schema of `andon check run`)."""

    check: str
    dataset: str
    column: str | None
    kind: str
    status: Literal["pass", "fail", "error"]
    severity: str
    observed: Any
    threshold: dict[str, Any]
    failed_rows: int | None
    samples: list[dict[str, Any]]
    message: str


class CheckRun(BaseModel):
    """A stored check run; ``passed`` is false when an error-severity check failed."""

    run_id: str
    contract: str
    contract_version: str
    server: str
    dataset_version: dict[str, str] = Field(description="Dataset name -> the version it read.")
    passed: bool
    started_at: datetime
    queries: int
    results: list[CheckResult]


class CheckRunSummary(BaseModel):
    """One run as seen from one dataset."""

    run_id: str
    started_at: datetime
    dataset_version: str
    contract_version: str
    passed: int = Field(description="Checks of this dataset that passed.")
    failed_errors: int
    failed_warnings: int
    failing: list[str]


class CheckLight(BaseModel):
    check: str
    status: str
    severity: str


class DatasetOverview(BaseModel):
    """A dataset, its latest run's checks and the pass/fail trend of its last runs."""

    dataset: str = Field(description="`team/name`.")
    contract: str
    run_id: str | None
    started_at: datetime | None
    contract_version: str | None
    color: Color
    checks: list[CheckLight]
    trend: list[bool] = Field(description="Whether each recent run passed, oldest first.")


class DatasetOverviewPage(Page[DatasetOverview]):
    """A page of datasets."""


class ContractVersionPage(Page[ContractVersion]):
    """A page of contracts."""


class DatasetVersion(BaseModel):
    """What a dataset held at one moment (ids derive from the content)."""

    id: str
    dataset: str
    team: str
    schema_hash: str
    columns: list[list[str]] = Field(description="`[name, type]` pairs.")
    row_count: int
    fingerprints: dict[str, str]
    location: str
    artifact: str | None = Field(description="`sha256:...` of the Parquet copy, if materialized.")
    created_at: datetime
    created: bool
    schema_incident: str | None = Field(description="A schema change this snapshot opened.")


class RetypedColumn(BaseModel):
    column: str
    old: str
    new: str


class RowCounts(BaseModel):
    old: int
    new: int


class VersionDiff(BaseModel):
    """What changed between two versions of a dataset."""

    old: str
    new: str
    identical: bool
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: list[RetypedColumn]
    row_count: RowCounts
    changed_columns: list[str] = Field(description="Columns whose content fingerprint changed.")


class Change(BaseModel):
    """One difference between two schemas."""

    kind: str
    breaking: bool
    table: str | None
    column: str | None
    old: Any
    new: Any
    detail: str


class SchemaChange(BaseModel):
    """Schema changes between two contract versions, or a live table's departure."""

    id: str
    contract: str
    team: str
    source: str
    version: str
    base_version: str | None
    dataset: str | None
    dataset_version: str | None
    breaking: bool
    changes: list[Change]
    status: str
    requested_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None


class ColumnProfile(BaseModel):
    name: str
    type: str
    nulls: int
    null_share: float
    distinct_approx: int | None
    min: Any
    max: Any
    mean: float | None
    quantiles: dict[str, Any] | None
    top_values: list[dict[str, Any]] | None
    top_values_complete: bool
    top_value_counts_estimated: bool
    formats: dict[str, float]
    unit: dict[str, Any] | None
    pii: bool = Field(description="Classified PII: its values are left out.")
    examples: list[Any]


class TableProfile(BaseModel):
    """A dataset's profile (the sample it read is never included)."""

    dataset: str
    rows: int
    queries: int
    seconds: float
    sampled: int
    columns: list[ColumnProfile]


class Tag(BaseModel):
    tag: str
    confidence: float
    evidence: dict[str, Any]


class FieldClassification(BaseModel):
    column: str
    category: str
    confidence: float
    sampled: int
    tags: list[Tag]


class Proposal(BaseModel):
    """An enrichment proposal for a dataset or column, and its decision."""

    id: str
    dataset: str
    column: str | None
    kind: str
    value: dict[str, Any]
    rationale: str
    enricher: str
    status: Literal["pending", "accepted", "rejected"]
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str
    contract_version: str | None = Field(description="The contract version carrying it.")
    contract_version_status: str | None


class Classification(BaseModel):
    """What a classification found (per field) and the proposals it stored."""

    dataset: str
    rows: int
    sampled: int
    queries: int
    fields: list[FieldClassification]
    proposals: list[Proposal]


class SchemaChangePage(Page[SchemaChange]):
    """A page of schema changes."""


class ProposalPage(Page[Proposal]):
    """A page of enrichment proposals."""
