"""The console: server-rendered pages (Jinja2) with HTMX fragments, no JS build step.

Every page goes through the same services, and so the same permission checks, as the API. A
service error becomes a page (or fragment) that says what went wrong, with the error's HTTP
status, never a 500. Pages load only their own script and stylesheet, and say so in a
Content-Security-Policy (:data:`andon.web.shared.HEADERS`).

:data:`PAGES` is the console's one route table: a module per page under
:mod:`andon.web.pages`, each with its ``router``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from andon.web.pages import (
    audit,
    board,
    cards,
    data,
    endpoints,
    evaluations,
    signin,
    teams,
    traces,
)
from andon.web.shared import HERE

PAGES: tuple[APIRouter, ...] = (
    board.router,
    signin.router,
    teams.router,
    audit.router,
    data.router,
    evaluations.router,
    cards.router,
    endpoints.router,
    traces.router,
)


def install(app: FastAPI) -> None:
    """Mount the console's static files and every page of :data:`PAGES` on ``app``."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in PAGES:
        app.include_router(router)
