"""Response bodies of the data endpoints that no data record gives as it is.

The records the data services return are the response models where their fields are what the
API publishes (``HistoryRow``, ``CheckLight``, ``Tag``, a check's ``Result``, an enrichment
``ProposalRecord``). Each model here says why it is not the record: the API reshapes the
record (a property published as a field, a field renamed or nested) or hides a field. Values read from the data itself (observed metrics, thresholds, samples, profile minima
and maxima) keep whatever JSON type the data has, so their schema is open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from andon.api.resources import Page
from andon.core.lights import Color
from andon.data.catalog import ProposalRecord
from andon.data.checks import Result
from andon.data.classify import Tag
from andon.data.overview import CheckLight


class ContractVersionResponse(BaseModel):
    """An applied contract version (for listings: the active version of each contract).

    ``ContractVersionRecord`` without ``granted_root``: a folder on the andon server, which
    the API does not publish."""

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


class CheckRunResponse(BaseModel):
    """A stored check run; ``passed`` is false when an error-severity check failed (or, with
    ``strict``, when something was not checked).

    ``RunReport`` with typed results and without ``seconds``."""

    run_id: str
    contract: str
    contract_version: str
    server: str
    dataset_version: dict[str, str] = Field(description="Dataset name -> the version it read.")
    passed: bool
    started_at: datetime
    queries: int
    results: list[Result]
    strict: bool = Field(description="True when a not_checked result failed the run.")
    not_checked: list[str] = Field(description="Checks the contract declares that did not run.")


class DatasetOverviewResponse(BaseModel):
    """A dataset, its latest run's checks and the pass/fail trend of its last runs.

    ``overview.DatasetOverview`` reshaped: its ``color`` property as a field, each trend
    point as a boolean."""

    dataset: str = Field(description="`team/name`.")
    contract: str
    run_id: str | None
    started_at: datetime | None
    contract_version: str | None
    color: Color
    checks: list[CheckLight]
    trend: list[bool] = Field(description="Whether each recent run passed, oldest first.")


class DatasetOverviewPage(Page[DatasetOverviewResponse]):
    """A page of datasets."""


class ContractVersionPage(Page[ContractVersionResponse]):
    """A page of contracts."""


class DatasetVersionResponse(BaseModel):
    """What a dataset held at one moment (ids derive from the content).

    ``DatasetVersionRecord`` with ``artifact_digest`` published as ``artifact``
    (``sha256:...``)."""

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


class RetypedColumnResponse(BaseModel):
    """A column whose type changed (``VersionDiff`` keeps these as plain dicts)."""

    column: str
    old: str
    new: str


class RowCountsResponse(BaseModel):
    """The row counts of the two versions (``VersionDiff`` keeps a pair)."""

    old: int
    new: int


class VersionDiffResponse(BaseModel):
    """What changed between two versions of a dataset.

    ``data.service.VersionDiff`` with its ``identical`` property as a field and the row
    counts as an object."""

    old: str
    new: str
    identical: bool
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: list[RetypedColumnResponse]
    row_count: RowCountsResponse
    changed_columns: list[str] = Field(description="Columns whose content fingerprint changed.")


class ChangeResponse(BaseModel):
    """One difference between two schemas: ``schema_changes.Change`` with its ``breaking``
    property as a field."""

    kind: str
    breaking: bool
    table: str | None
    column: str | None
    old: Any
    new: Any
    detail: str


class SchemaChangeResponse(BaseModel):
    """Schema changes between two contract versions, or a live table's departure.

    ``SchemaChangeRecord`` whose changes carry ``breaking`` (:class:`ChangeResponse`)."""

    id: str
    contract: str
    team: str
    source: str
    version: str
    base_version: str | None
    dataset: str | None
    dataset_version: str | None
    breaking: bool
    changes: list[ChangeResponse]
    status: str
    requested_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None


class ColumnProfileResponse(BaseModel):
    """What one column holds: ``profile.ColumnProfile`` with ``distinct`` published as
    ``distinct_approx``."""

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


class TableProfileResponse(BaseModel):
    """A dataset's profile: ``profile.TableProfile`` without the sample it read (it may hold
    PII) or its classifications."""

    dataset: str
    rows: int
    queries: int
    seconds: float
    sampled: int
    columns: list[ColumnProfileResponse]


class FieldClassificationResponse(BaseModel):
    """Every tag of one field: ``classify.FieldClassification`` with its ``category`` and
    ``confidence`` properties as fields, without ``formats``."""

    column: str
    category: str
    confidence: float
    sampled: int
    tags: list[Tag]


class ClassificationResponse(BaseModel):
    """What a classification found (per field) and the proposals it stored
    (``catalog.ClassifyReport`` of the response shapes above)."""

    dataset: str
    rows: int
    sampled: int
    queries: int
    fields: list[FieldClassificationResponse]
    proposals: list[ProposalRecord]


class SchemaChangePage(Page[SchemaChangeResponse]):
    """A page of schema changes."""


class ProposalPage(Page[ProposalRecord]):
    """A page of enrichment proposals."""
