"""The console's data page: latest check runs per dataset, their trend, pending schema changes.

Registered by :func:`andon.web.routes.install`; it goes through the data services (and so
their permission checks) like every other page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from andon.core.errors import AndonError
from andon.data import approvals, overview
from andon.web.routes import _context, _error, _page, _SignedOut, _signin

TREND_RUNS = 12


def install(app: FastAPI) -> None:
    """Mount ``/console/data`` on ``app``."""

    @app.get("/console/data", include_in_schema=False)
    def data_page(request: Request) -> Response:
        try:
            ctx = _context(request)
        except _SignedOut as out:
            return _signin(out.ended)
        try:
            datasets = overview.dataset_overview(ctx, runs=TREND_RUNS)
            waiting = [
                change
                for change in approvals.list_schema_changes(ctx)
                if change.status in approvals.OPEN_STATUSES
            ]
        except AndonError as exc:
            return _error(request, ctx, exc, "data")
        return _page(
            request,
            "data.html",
            ctx,
            "data",
            datasets=datasets,
            waiting=waiting,
            runs=TREND_RUNS,
        )
