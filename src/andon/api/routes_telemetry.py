"""/api/v1/telemetry: one read-only SQL statement over both tiers, and the sampling report
(over the telemetry services)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from andon.api.deps import Ctx
from andon.api.problems import responses
from andon.api.schemas import Body
from andon.telemetry import service as telemetry

router = APIRouter(tags=["telemetry"], responses=responses(403, 404, 422))


class TelemetryQueryBody(Body):
    sql: str = Field(
        min_length=1,
        max_length=100_000,
        description="One read-only SELECT over the views spans, metrics and logs.",
    )
    teams: list[str] | None = Field(
        None, max_length=100, description="Only these teams (default: every team you may read)."
    )


class TelemetryQueryResponse(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = Field(description="True when the result had more rows than returned.")
    seconds: float


class SamplingRow(BaseModel):
    team: str
    decision: str
    policy: str
    traces: int
    spans: int
    late_spans: int


@router.post("/telemetry/query", response_model=TelemetryQueryResponse)
def telemetry_query(ctx: Ctx, body: TelemetryQueryBody) -> dict[str, Any]:
    """Run one read-only SELECT over the hot and cold tiers of the teams you may read."""
    return telemetry.query(ctx, body.sql, body.teams).as_dict()


@router.get("/telemetry/sampling", response_model=list[SamplingRow])
def telemetry_sampling(
    ctx: Ctx,
    team: list[str] | None = Query(None, description="Only these teams."),
) -> list[dict[str, Any]]:
    """Traces and spans kept and dropped by tail sampling, per team and policy."""
    return telemetry.sampling_report(ctx, team)
