"""The FastAPI application: /api/v1, health probes and the console."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from andon import __version__
from andon.api import (
    limits,
    problems,
    resources,
    routes_audit,
    routes_data,
    routes_identity,
    routes_lineage,
    routes_models,
    routes_promotion,
    routes_runs,
    routes_teams,
    routes_telemetry,
)
from andon.api.deps import PREFIX, BearerAuth, checked_query
from andon.core.clock import Clock, SystemClock
from andon.core.config import Settings
from andon.core.errors import AndonError
from andon.store import migrate
from andon.store.db import Database

_OPENAPI = f"{PREFIX}/openapi.json"
_DOCS = f"{PREFIX}/docs"
_TAGS = [
    {"name": "identity", "description": "Principals, role bindings, API tokens and assets."},
    {"name": "teams", "description": "Teams, members, on-call rotations, escalation ladders."},
    {"name": "audit", "description": "The hash-chained audit log."},
    {"name": "events", "description": "The outbox of domain events."},
    {"name": "board", "description": "The andon board."},
    {"name": "data", "description": "Data contracts, checks, datasets, versions and catalog."},
    {"name": "runs", "description": "Training runs: params, metrics and their history."},
    {"name": "models", "description": "Models, versions, aliases, model cards, evaluations."},
    {"name": "promotion", "description": "Gates, four-eyes approvals, promotion and rollback."},
    {"name": "lineage", "description": "The lineage graph and production lineage coverage."},
    {"name": "health", "description": "Liveness and readiness probes; no token needed."},
]


def create_app(
    settings: Settings, *, db: Database | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the server for ``settings`` (the database is opened, not migrated).

    While it runs (its lifespan), it anchors the audit head every
    ``settings.audit_anchor_interval`` seconds (see :mod:`andon.api.anchoring`).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if settings.audit_anchor_interval > 0:
            from andon.api import anchoring

            task = asyncio.create_task(
                anchoring.run(settings, app.state.db, app.state.clock), name="audit-anchor"
            )
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        lifespan=lifespan,
        title="andon",
        version=__version__,
        description="Control plane for AI and data work: explain it, test it, stop it.",
        openapi_url=_OPENAPI,
        docs_url=_DOCS,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.settings = settings
    app.state.db = db or Database.from_settings(settings)
    app.state.clock = clock or SystemClock()
    problems.install(app)

    for router in (
        routes_identity.router,
        routes_teams.router,
        routes_audit.router,
        routes_data.router,
        routes_runs.router,
        routes_models.router,
        routes_promotion.router,
        routes_lineage.router,
        routes_telemetry.router,
    ):
        app.include_router(
            router,
            prefix=PREFIX,
            dependencies=[Depends(checked_query)],
            responses=problems.responses(401, 403, 503),
        )

    @app.get("/healthz", tags=["health"], response_model=resources.HealthResponse)
    def healthz() -> dict[str, Any]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get(
        "/readyz",
        tags=["health"],
        response_model=resources.ReadyResponse,
        responses=problems.responses(503),
    )
    def readyz() -> Any:
        """Readiness: the database answers and its schema is current."""
        try:
            app.state.db.ping()
            migrate.require_current(app.state.db)
        except AndonError as exc:
            return problems.problem_response(503, exc.problem("/readyz"))
        return {"status": "ready"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.document(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                    tags=_TAGS,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    from andon.web.routes import install as install_console

    install_console(app)
    # Outermost last: every unhandled error becomes a 500 problem; bodies are bounded before
    # authentication, so no caller (anonymous included) makes the server hold a large one.
    app.add_middleware(BearerAuth, open_paths={_OPENAPI, _DOCS})
    app.add_middleware(limits.BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(problems.CatchAll)
    return app
