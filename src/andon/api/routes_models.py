"""/api/v1/models and /api/v1/evaluations: models, versions, aliases, model cards and
evaluations (over the registry, cards and evaluate services).

Models are addressed as ``/models/{team}/{name}`` and versions as
``/models/{team}/{name}/versions/{version}`` (:mod:`andon.api.paths`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from andon.api import resources_models as r
from andon.api.deps import Ctx, CursorParam, Limit
from andon.api.paging import fetch_size, page
from andon.api.paths import Alias, Name, ObjectId, Team, Version, model_ref, version_ref
from andon.api.problems import responses
from andon.api.schemas_models import AliasSetBody, CardSectionBody
from andon.cards import narrative as cards
from andon.cards import service as cards_service
from andon.cards.narrative import Completeness
from andon.evaluate import service as evaluate
from andon.registry import service as registry
from andon.registry.records import AliasMove, ModelRecord, VersionRecord

router = APIRouter(tags=["models"], responses=responses(404, 422))

CHANGE = responses(409)


@router.get("/models", response_model=r.ModelPage)
def list_models(
    ctx: Ctx,
    team: str | None = Query(None, max_length=63, description="Only this team's models."),
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Models the caller may read, by team and name, with their aliases (not their versions)."""
    models = registry.list_models(ctx, team=team)
    return page("models", models, lambda m: f"{m.team}/{m.name}", cursor, limit)


@router.get("/models/{team}/{name}", response_model=ModelRecord)
def get_model(ctx: Ctx, team: Team, name: Name) -> dict[str, Any]:
    """A model with its aliases and all its versions, newest first."""
    return registry.get_model(ctx, model_ref(team, name)).as_dict()


@router.get("/models/{team}/{name}/versions/{version}", response_model=VersionRecord)
def get_model_version(ctx: Ctx, team: Team, name: Name, version: Version) -> dict[str, Any]:
    """One model version."""
    return registry.get_version(ctx, version_ref(team, name, version)).as_dict()


@router.put("/models/{team}/{name}/aliases/{alias}", response_model=AliasMove, responses=CHANGE)
def set_alias(ctx: Ctx, team: Team, name: Name, alias: Alias, body: AliasSetBody) -> dict[str, Any]:
    """Point an alias at a version (compare-and-swap with ``expected_version``); the aliases
    of a stage policy move only by promotion and rollback (403)."""
    return registry.set_alias(
        ctx,
        version_ref(team, name, body.version),
        alias,
        expect=body.expected_version,
        reason=body.reason,
    ).as_dict()


@router.get("/models/{team}/{name}/versions/{version}/card", response_model=r.ModelCardResponse)
def model_card(ctx: Ctx, team: Team, name: Name, version: Version) -> dict[str, Any]:
    """The version's model card (``andon.model-card/1``): facts from the line and narrative."""
    return cards_service.model_card(ctx, version_ref(team, name, version)).as_dict()


@router.put(
    "/models/{team}/{name}/versions/{version}/card/sections/{section}",
    response_model=Completeness,
)
def edit_card_section(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    body: CardSectionBody,
    section: str = Path(json_schema_extra={"enum": list(cards.SECTIONS)}),
) -> dict[str, Any]:
    """Write one narrative section of the card; returns the card's new completeness."""
    ref = version_ref(team, name, version)
    return cards.edit_section(ctx, ref, section, body.text).as_facts()


@router.get("/models/{team}/{name}/versions/{version}/evaluations", response_model=r.EvaluationPage)
def list_evaluations(
    ctx: Ctx,
    team: Team,
    name: Name,
    version: Version,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Evaluations of one version, newest first (the newest 10,000)."""
    ref = version_ref(team, name, version)
    registry.get_version(ctx, ref)  # an unknown version is 404, not an empty listing
    found = evaluate.list_evaluations(ctx, ref, limit=fetch_size(cursor, limit))
    return page(
        "evaluations",
        found,
        lambda e: f"{e.created_at.isoformat()} {e.id}",
        cursor,
        limit,
        descending=True,
    )


@router.get("/evaluations/{evaluation_id}", response_model=r.EvaluationResponse)
def get_evaluation(ctx: Ctx, evaluation_id: ObjectId) -> dict[str, Any]:
    """One evaluation by id."""
    return evaluate.get_evaluation(ctx, evaluation_id).as_dict()
