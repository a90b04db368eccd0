"""/api/v1: the AI factory: runs, models, cards, evaluations, gates, approvals, promotion and
lineage, over the registry, evaluate, policy, cards and lineage services.

Models are addressed as ``/models/{team}/{name}`` and versions as
``/models/{team}/{name}/versions/{version}``; the routes build the services' references
(``team/name``, ``team/name@version``) from the path. Registering a model (an artifact upload)
stays with the CLI and the SDK.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query

from andon.api import resources_factory as r
from andon.api.deps import Ctx, CursorParam, Limit
from andon.api.paging import page
from andon.api.problems import responses
from andon.api.schemas import ReasonBody
from andon.api.schemas_factory import (
    VERSION_MAX,
    AliasSet,
    ApprovalDecision,
    CardSectionEdit,
    PromoteBody,
    RollbackBody,
)
from andon.cards import service as cards_service
from andon.evaluate import service as evaluate
from andon.lineage import coverage as lineage_coverage
from andon.lineage import service as lineage
from andon.policy import approvals, promotion
from andon.policy import service as policy
from andon.registry import cards
from andon.registry import service as registry
from andon.registry.records import AliasMove, ModelRecord, RunRecord, VersionRecord

router = APIRouter(responses=responses(404, 422))

CHANGE = responses(409)
PROMOTE: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The gate, the approvals or the training data refused it, or the stage "
        "moved meanwhile (`winner` names the version that holds it)."
    },
    423: {"description": "The model's andon cord is pulled."},
}

Team = Annotated[
    str,
    Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Team name.", examples=["fraud-ml"]),
]
Name = Annotated[
    str,
    Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$", description="Model name.", examples=["fraud"]),
]
Version = Annotated[int, Path(ge=1, le=VERSION_MAX, description="Version number.", examples=[1])]
Stage = Annotated[
    str,
    Path(
        pattern=r"^[a-z][a-z0-9_-]{0,99}$",
        description="A stage of the model's policy.",
        examples=["production"],
    ),
]
Alias = Annotated[
    str,
    Path(pattern=r"^[a-z][a-z0-9_-]{0,99}$", description="Alias name.", examples=["candidate"]),
]
ObjectId = Annotated[str, Path(max_length=200, description="An andon object id.")]


def _model(team: str, name: str) -> str:
    return f"{team}/{name}"


def _version(team: str, name: str, version: int) -> str:
    return f"{team}/{name}@{version}"


_WINDOW = 10_000
"""How many of the newest items the listings over a service with a ``limit`` can walk."""


def _fetch(cursor: str | None, limit: int) -> int:
    """How many items to ask the service for: one page and one more on the first page (the
    service sorts as the cursor does), else the whole window the cursor may lie in."""
    return limit + 1 if cursor is None else _WINDOW


# --------------------------------------------------------------------------- runs


@router.get("/runs", tags=["runs"], response_model=r.RunPage)
def list_runs(
    ctx: Ctx,
    team: str | None = Query(None, max_length=63, description="Only this team's runs."),
    where: str | None = Query(
        None,
        max_length=1000,
        description="Filter: `metrics.KEY >= 0.8 and params.KEY = 'x' and status = finished`.",
    ),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Runs the caller may read, newest first (the newest 10,000 that match)."""
    runs = registry.list_runs(ctx, where=where, team=team, limit=_fetch(cursor, limit))
    return page(
        "runs",
        runs,
        lambda run: f"{run.started_at.isoformat()} {run.id}",
        cursor,
        limit,
        descending=True,
    )


@router.get("/runs/{run_id}", tags=["runs"], response_model=RunRecord)
def get_run(ctx: Ctx, run_id: ObjectId) -> dict[str, Any]:
    """One run with its params, latest metrics, artifacts and datasets."""
    return registry.get_run(ctx, run_id).as_dict()


@router.get("/runs/{run_id}/metrics/{key:path}", tags=["runs"], response_model=r.MetricHistory)
def metric_history(
    ctx: Ctx, run_id: ObjectId, key: Annotated[str, Path(max_length=200)]
) -> dict[str, Any]:
    """Every value logged for one metric of a run, by step (empty when never logged)."""
    points = registry.metric_history(ctx, run_id, key)
    return {
        "run_id": run_id,
        "key": key,
        "points": [{"step": step, "value": value} for step, value in points],
    }


# --------------------------------------------------------------------------- models


@router.get("/models", tags=["models"], response_model=r.ModelPage)
def list_models(
    ctx: Ctx,
    team: str | None = Query(None, max_length=63, description="Only this team's models."),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Models the caller may read, by team and name, with their aliases (not their versions)."""
    models = registry.list_models(ctx, team=team)
    return page("models", models, lambda m: f"{m.team}/{m.name}", cursor, limit)


@router.get("/models/{team}/{name}", tags=["models"], response_model=ModelRecord)
def get_model(ctx: Ctx, team: Team, name: Name) -> dict[str, Any]:
    """A model with its aliases and all its versions, newest first."""
    return registry.get_model(ctx, _model(team, name)).as_dict()


@router.get(
    "/models/{team}/{name}/versions/{version}", tags=["models"], response_model=VersionRecord
)
def get_model_version(ctx: Ctx, team: Team, name: Name, version: Version) -> dict[str, Any]:
    """One model version."""
    return registry.get_version(ctx, _version(team, name, version)).as_dict()


@router.put(
    "/models/{team}/{name}/aliases/{alias}",
    tags=["models"],
    response_model=AliasMove,
    responses=CHANGE,
)
def set_alias(ctx: Ctx, team: Team, name: Name, alias: Alias, body: AliasSet) -> dict[str, Any]:
    """Point an alias at a version (compare-and-swap with ``expected_version``); the aliases
    of a stage policy move only by promotion and rollback (403)."""
    return registry.set_alias(
        ctx,
        _version(team, name, body.version),
        alias,
        expect=body.expected_version,
        reason=body.reason,
    ).as_dict()


@router.get(
    "/models/{team}/{name}/versions/{version}/card", tags=["models"], response_model=r.ModelCard
)
def model_card(ctx: Ctx, team: Team, name: Name, version: Version) -> dict[str, Any]:
    """The version's model card (``andon.model-card/1``): facts from the line and narrative."""
    return cards_service.model_card(ctx, _version(team, name, version)).as_dict()


@router.put(
    "/models/{team}/{name}/versions/{version}/card/sections/{section}",
    tags=["models"],
    response_model=r.Completeness,
)
def edit_card_section(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    body: CardSectionEdit,
    section: str = Path(json_schema_extra={"enum": list(cards.SECTIONS)}),
) -> dict[str, Any]:
    """Write one narrative section of the card; returns the card's new completeness."""
    return cards.edit_section(ctx, _version(team, name, version), section, body.text).as_facts()


@router.get(
    "/models/{team}/{name}/versions/{version}/evaluations",
    tags=["models"],
    response_model=r.EvaluationPage,
)
def list_evaluations(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Evaluations of one version, newest first (the newest 10,000)."""
    ref = _version(team, name, version)
    registry.get_version(ctx, ref)  # an unknown version is 404, not an empty listing
    found = evaluate.list_evaluations(ctx, ref, limit=_fetch(cursor, limit))
    return page(
        "evaluations",
        found,
        lambda e: f"{e.created_at.isoformat()} {e.id}",
        cursor,
        limit,
        descending=True,
    )


@router.get("/evaluations/{evaluation_id}", tags=["models"], response_model=r.Evaluation)
def get_evaluation(ctx: Ctx, evaluation_id: ObjectId) -> dict[str, Any]:
    """One evaluation by id."""
    return evaluate.get_evaluation(ctx, evaluation_id).as_dict()


# --------------------------------------------------------------------------- promotion


@router.post(
    "/models/{team}/{name}/versions/{version}/gates/{stage}",
    tags=["promotion"],
    response_model=r.GateDecision,
)
def check_gate(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    stage: Stage,
    body: ReasonBody = Body(default_factory=ReasonBody),
) -> dict[str, Any]:
    """Evaluate the stage's gate on current facts and store the decision; a failing gate is a
    stored result (``passed`` false, each clause explained), not an error."""
    return policy.check_gate(
        ctx, _version(team, name, version), stage, reason=body.reason
    ).as_dict()


@router.post(
    "/models/{team}/{name}/versions/{version}/approval-requests/{stage}",
    tags=["promotion"],
    status_code=201,
    response_model=r.ApprovalRequest,
    responses=CHANGE,
)
def request_approval(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    stage: Stage,
    body: ReasonBody = Body(default_factory=ReasonBody),
) -> dict[str, Any]:
    """Ask for the approvals the stage requires to promote this version."""
    return approvals.request_approval(
        ctx, _version(team, name, version), stage, reason=body.reason
    ).as_dict()


@router.get("/approval-requests", tags=["promotion"], response_model=r.ApprovalRequestPage)
def list_approval_requests(
    ctx: Ctx,
    status: Literal["pending", "approved", "rejected", "expired", "used"] | None = Query(
        None, description="Only requests in this status."
    ),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Approval requests the caller may read, newest first (the newest 1,000)."""
    found = approvals.list_requests(ctx, status=status)
    return page(
        "approval-requests",
        found,
        lambda q: f"{q.requested_at.isoformat()} {q.id}",
        cursor,
        limit,
        descending=True,
    )


@router.post(
    "/approval-requests/{request_id}/decision",
    tags=["promotion"],
    response_model=r.ApprovalRequest,
    responses=CHANGE,
)
def decide_approval(ctx: Ctx, request_id: ObjectId, body: ApprovalDecision) -> dict[str, Any]:
    """Approve or reject a request, filling one required role (four eyes: not the requester,
    one role per person)."""
    return approvals.decide_approval(
        ctx, request_id, body.decision, role=body.role, reason=body.reason
    ).as_dict()


@router.post(
    "/models/{team}/{name}/versions/{version}/promotions/{stage}",
    tags=["promotion"],
    status_code=201,
    response_model=r.Promotion,
    responses=PROMOTE,
)
def promote(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    stage: Stage,
    body: PromoteBody = Body(default_factory=PromoteBody),
) -> dict[str, Any]:
    """Promote the version to the stage (move its alias): refused with 409 while the gate,
    the approvals or the training data checks say no, or when the stage moved after this
    request read it (or is not at `expected_version`): `winner` names the version it holds;
    423 while the cord is pulled."""
    return promotion.promote(
        ctx,
        _version(team, name, version),
        stage,
        reason=body.reason,
        expected_version=body.expected_version,
    ).as_dict()


@router.post(
    "/models/{team}/{name}/rollbacks/{stage}",
    tags=["promotion"],
    status_code=201,
    response_model=r.Promotion,
    responses=CHANGE,
)
def rollback(ctx: Ctx, team: Team, name: Name, stage: Stage, body: RollbackBody) -> dict[str, Any]:
    """Restore the version the stage held before its current one."""
    return promotion.rollback(ctx, _model(team, name), stage, reason=body.reason).as_dict()


@router.get("/models/{team}/{name}/promotions", tags=["promotion"], response_model=r.PromotionPage)
def list_promotions(
    ctx: Ctx,
    team: Team,
    name: Name,
    stage: str | None = Query(None, max_length=100, description="Only this stage."),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The model's promotions and rollbacks, newest first."""
    found = promotion.promotions(ctx, _model(team, name), stage=stage)
    return page(
        "promotions",
        found,
        lambda p: f"{p.promoted_at.isoformat()} {p.id}",
        cursor,
        limit,
        descending=True,
    )


# --------------------------------------------------------------------------- lineage


@router.get("/lineage/{object_id}", tags=["lineage"], response_model=r.LineageGraph)
def lineage_graph(
    ctx: Ctx,
    object_id: ObjectId,
    direction: Literal["upstream", "downstream", "both"] = Query(
        "both", description="Upstream (what flowed in), downstream (what it fed) or both."
    ),
    depth: int = Query(20, ge=1, le=100, description="Hops to walk."),
) -> dict[str, Any]:
    """The lineage graph around a run, model version, dataset version or other object."""
    return lineage.graph(ctx, object_id, direction=direction, depth=depth).as_dict()


@router.get("/lineage-coverage", tags=["lineage"], response_model=r.LineageCoverage)
def lineage_coverage_report(ctx: Ctx) -> dict[str, Any]:
    """Which production model versions are explained end to end, and the links each lacks."""
    return lineage_coverage.coverage(ctx).as_dict()
