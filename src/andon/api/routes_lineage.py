"""/api/v1: the lineage graph around an object, and production lineage coverage (over the
lineage services)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query

from andon.api import resources_lineage as r
from andon.api.deps import Ctx
from andon.api.paths import ObjectId
from andon.api.problems import responses
from andon.lineage import coverage as lineage_coverage
from andon.lineage import service as lineage

router = APIRouter(tags=["lineage"], responses=responses(404, 422))


@router.get("/lineage/{object_id}", response_model=r.LineageGraphResponse)
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


@router.get("/lineage-coverage", response_model=r.LineageCoverageResponse)
def lineage_coverage_report(ctx: Ctx) -> dict[str, Any]:
    """Which production model versions are explained end to end, and the links each lacks."""
    return lineage_coverage.coverage(ctx).as_dict()
