"""The FastAPI application: /api/v1, health probes and the console."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from andon import __version__
from andon.api import problems, routes_audit, routes_identity, routes_teams
from andon.core.clock import Clock, SystemClock
from andon.core.config import Settings
from andon.core.errors import AndonError
from andon.store import migrate
from andon.store.db import Database


def create_app(
    settings: Settings, *, db: Database | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the server for ``settings`` (the database is opened, not migrated)."""
    app = FastAPI(
        title="andon",
        version=__version__,
        description="Control plane for AI and data work: explain it, test it, stop it.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db or Database.from_settings(settings)
    app.state.clock = clock or SystemClock()
    problems.install(app)

    for router in (routes_identity.router, routes_teams.router, routes_audit.router):
        app.include_router(router, prefix="/api/v1")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["health"])
    def readyz() -> Any:
        """Readiness: the database answers and its schema is current."""
        try:
            app.state.db.ping()
            migrate.require_current(app.state.db)
        except AndonError as exc:
            return problems.problem_response(503, exc.problem("/readyz") | {"status": 503})
        return {"status": "ready"}

    from andon.web.routes import install as install_console

    install_console(app)
    return app
