"""/api/v1/runs: training runs, their params, latest metrics and metric history (over the
registry service). Registering a model (an artifact upload) stays with the CLI and the SDK."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from andon.api import resources_runs as r
from andon.api.deps import Ctx, CursorParam, Limit
from andon.api.paging import fetch_size, page
from andon.api.paths import ObjectId
from andon.api.problems import responses
from andon.registry import service as registry
from andon.registry.records import RunRecord

router = APIRouter(tags=["runs"], responses=responses(404, 422))


@router.get("/runs", response_model=r.RunPage)
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
    runs = registry.list_runs(ctx, where=where, team=team, limit=fetch_size(cursor, limit))
    return page(
        "runs",
        runs,
        lambda run: f"{run.started_at.isoformat()} {run.id}",
        cursor,
        limit,
        descending=True,
    )


@router.get("/runs/{run_id}", response_model=RunRecord)
def get_run(ctx: Ctx, run_id: ObjectId) -> dict[str, Any]:
    """One run with its params, latest metrics, artifacts and datasets."""
    return registry.get_run(ctx, run_id).as_dict()


@router.get("/runs/{run_id}/metrics/{key:path}", response_model=r.MetricHistoryResponse)
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
