"""/api/v1 for the data line: contracts, schema changes, check runs, datasets and the catalog.

Datasets are addressed as ``/datasets/{team}/{name}`` (the services' ``team/name``), contract
versions as ``/contracts/{contract_id}/versions/{version}`` (their ``contract@version``). A
check run whose checks fail is a result (``passed: false``), not an error.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from andon.api import resources_data as r
from andon.api.deps import Ctx, CursorParam, Limit
from andon.api.paging import page
from andon.api.problems import responses
from andon.api.schemas import ReasonBody
from andon.api.schemas_data import (
    CheckRunCreateBody,
    ClassifyBody,
    ContractApplyBody,
    DecisionBody,
    SnapshotCreateBody,
)
from andon.data import approvals, catalog, overview, profile, reader
from andon.data import service as data
from andon.data.catalog import ProposalRecord
from andon.data.service import HistoryRow

router = APIRouter(tags=["data"], responses=responses(404))
CHANGE = responses(409)


def _one_of(values: tuple[str, ...]) -> str:
    return "^(" + "|".join(values) + ")$"


Server = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="Which server of the contract to read."),
]


def _dataset(team: str, name: str) -> str:
    return f"{team}/{name}"


def _created(response: Response, created: bool) -> None:
    response.status_code = 201 if created else 200


# --------------------------------------------------------------------------- contracts


@router.get("/contracts", response_model=r.ContractVersionPage)
def list_contracts(ctx: Ctx, limit: Limit = 100, cursor: CursorParam = None) -> dict[str, Any]:
    """Contracts the caller may read, each at its active version, by contract id."""
    return page("contracts", data.list_contracts(ctx), lambda c: c.contract, cursor, limit)


@router.post(
    "/contracts",
    status_code=201,
    response_model=r.ContractVersionResponse,
    responses={
        200: {
            "model": r.ContractVersionResponse,
            "description": "Applied before: nothing changed.",
        },
        **CHANGE,
    },
)
def apply_contract(ctx: Ctx, body: ContractApplyBody, response: Response) -> dict[str, Any]:
    """Apply an ODCS contract version; a breaking change is stored `pending` for a steward."""
    record = data.apply_contract_text(
        ctx, body.content, body.team, base_dir=body.base_dir, source="content", reason=body.reason
    )
    _created(response, record.created)
    return record.as_dict()


@router.get("/schema-changes", response_model=r.SchemaChangePage)
def list_schema_changes(
    ctx: Ctx,
    contract: str | None = Query(None, max_length=200, description="Only this contract's."),
    status: str | None = Query(
        None, pattern=_one_of(approvals.STATUSES), description="Only changes in this status."
    ),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Schema changes of the contracts the caller may read, oldest first."""
    changes = approvals.list_schema_changes(ctx, contract, status=status)
    return page("schema-changes", changes, lambda c: c.id, cursor, limit)


@router.post(
    "/contracts/{contract_id}/versions/{version}/approve",
    response_model=r.SchemaChangeResponse,
    responses=CHANGE,
)
def approve_version(ctx: Ctx, contract_id: str, version: str, body: DecisionBody) -> dict[str, Any]:
    """Approve a pending contract version (four eyes: not the one who applied it)."""
    return approvals.approve_version(ctx, f"{contract_id}@{version}", reason=body.reason).as_dict()


@router.post(
    "/contracts/{contract_id}/versions/{version}/reject",
    response_model=r.SchemaChangeResponse,
    responses=CHANGE,
)
def reject_version(ctx: Ctx, contract_id: str, version: str, body: DecisionBody) -> dict[str, Any]:
    """Reject a pending contract version; the active version stays."""
    return approvals.reject_version(ctx, f"{contract_id}@{version}", reason=body.reason).as_dict()


@router.post(
    "/contracts/{contract_id}/check-runs", response_model=r.CheckRunResponse, responses=CHANGE
)
def run_checks(ctx: Ctx, contract_id: str, body: CheckRunCreateBody) -> dict[str, Any]:
    """Run the active contract version's checks and store the run (failures are results)."""
    return data.run_checks(
        ctx, contract_id, server=body.server, reason=body.reason, id_only=True, strict=body.strict
    ).as_dict()


# --------------------------------------------------------------------------- datasets


@router.get("/datasets", response_model=r.DatasetOverviewPage)
def list_datasets(ctx: Ctx, limit: Limit = 100, cursor: CursorParam = None) -> dict[str, Any]:
    """Datasets the caller may read with their latest checks and trend, by `team/name`."""
    return page("datasets", overview.dataset_overview(ctx), lambda o: o.dataset, cursor, limit)


@router.get("/datasets/{team}/{name}/check-runs", response_model=list[HistoryRow])
def check_history(
    ctx: Ctx,
    team: str,
    name: str,
    limit: int = Query(20, ge=1, le=1000, description="How many runs."),
) -> list[dict[str, Any]]:
    """The latest check runs that read the dataset, newest first."""
    return [row.as_dict() for row in data.check_history(ctx, _dataset(team, name), limit=limit)]


@router.post(
    "/datasets/{team}/{name}/versions",
    status_code=201,
    response_model=r.DatasetVersionResponse,
    responses={
        200: {"model": r.DatasetVersionResponse, "description": "The version existed already."}
    },
)
def snapshot_dataset(
    ctx: Ctx, team: str, name: str, body: SnapshotCreateBody, response: Response
) -> dict[str, Any]:
    """Record the dataset's current version (with `materialize`, a Parquet copy too)."""
    record = data.snapshot_dataset(
        ctx,
        _dataset(team, name),
        server=body.server,
        materialize=body.materialize,
        reason=body.reason,
    )
    _created(response, record.created)
    return record.as_dict()


@router.get("/datasets/{team}/{name}/versions/latest", response_model=r.DatasetVersionResponse)
def latest_version(ctx: Ctx, team: str, name: str) -> dict[str, Any]:
    """The dataset's newest version."""
    return reader.latest_version(ctx, _dataset(team, name)).as_dict()


@router.get("/dataset-versions/diff", response_model=r.VersionDiffResponse)
def diff_versions(
    ctx: Ctx,
    old: str = Query(min_length=1, max_length=200, description="The older version's id."),
    new: str = Query(min_length=1, max_length=200, description="The newer version's id."),
) -> dict[str, Any]:
    """Schema, row-count and content changes between two dataset versions."""
    return data.diff_versions(ctx, old, new).as_dict()


@router.get("/dataset-versions/{version_id}", response_model=r.DatasetVersionResponse)
def get_version(ctx: Ctx, version_id: str) -> dict[str, Any]:
    """One dataset version by id."""
    return reader.get_version(ctx, version_id).as_dict()


@router.get("/datasets/{team}/{name}/profile", response_model=r.TableProfileResponse)
def profile_dataset(ctx: Ctx, team: str, name: str, server: Server = None) -> dict[str, Any]:
    """Profile the dataset where its contract locates it (PII columns show no values)."""
    return profile.profile_dataset(ctx, _dataset(team, name), server=server).as_dict()


# --------------------------------------------------------------------------- catalog


@router.post("/datasets/{team}/{name}/classification", response_model=r.ClassificationResponse)
def classify_dataset(ctx: Ctx, team: str, name: str, body: ClassifyBody) -> dict[str, Any]:
    """Classify every column and store the offline enricher's proposals."""
    return catalog.classify_dataset(
        ctx, _dataset(team, name), server=body.server, reason=body.reason
    ).as_dict()


@router.get("/datasets/{team}/{name}/proposals", response_model=r.ProposalPage)
def list_proposals(
    ctx: Ctx,
    team: str,
    name: str,
    status: str | None = Query(
        None, pattern=_one_of(catalog.STATUSES), description="Only proposals in this status."
    ),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The dataset's enrichment proposals, oldest first."""
    proposals = catalog.list_proposals(ctx, _dataset(team, name), status=status)
    return page("proposals", proposals, lambda p: p.id, cursor, limit)


@router.post("/proposals/{proposal_id}/accept", response_model=ProposalRecord, responses=CHANGE)
def accept_proposal(ctx: Ctx, proposal_id: str, body: ReasonBody) -> dict[str, Any]:
    """Accept a pending proposal: a new contract version carries it."""
    return catalog.accept_proposal(ctx, proposal_id, reason=body.reason).as_dict()


@router.post("/proposals/{proposal_id}/reject", response_model=ProposalRecord, responses=CHANGE)
def reject_proposal(ctx: Ctx, proposal_id: str, body: ReasonBody) -> dict[str, Any]:
    """Reject a pending proposal."""
    return catalog.reject_proposal(ctx, proposal_id, reason=body.reason).as_dict()
