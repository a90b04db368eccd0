"""The console's data page: latest check runs per dataset, their trend, pending schema changes.

Listed in :data:`andon.web.routes.PAGES`; it goes through the data services (and so
their permission checks) like every other page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from andon.core.context import Context
from andon.data import approvals, overview
from andon.web.shared import signed_in_page

TREND_RUNS = 12

router = APIRouter(include_in_schema=False)


@router.get("/console/data")
def data_page(request: Request) -> Response:
    """Latest check run per dataset with a dot per check, the trend, and open schema changes."""

    def load(ctx: Context) -> dict[str, Any]:
        datasets = overview.dataset_overview(ctx, runs=TREND_RUNS)  # dataset.read first
        waiting = [
            change
            for change in approvals.list_schema_changes(ctx)
            if change.status in approvals.OPEN_STATUSES
        ]
        return {
            "datasets": datasets,
            "waiting": waiting,
            "runs": TREND_RUNS,
        }

    return signed_in_page(request, "data.html", "data", load)
