"""The console: server-rendered pages (Jinja2) with HTMX fragments, no JS build step.

Sign-in stores the API token in an HttpOnly, SameSite=Strict cookie; every page goes through
the same services, and so the same permission checks, as the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from andon import __version__
from andon.audit import service as audit
from andon.auth import service as auth
from andon.board import service as board
from andon.core.context import Context
from andon.core.errors import AndonError, Unauthenticated

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=_HERE / "templates")
COOKIE = "andon_token"


@dataclass(frozen=True)
class TeamView:
    """A team as the console shows it: members, who is on call, the ladder."""

    name: str
    description: str
    owners: list[str]
    members: list[str]
    oncall: str | None
    oncall_until: str | None
    ladder: list[tuple[str, str]]


def _context(request: Request) -> Context | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    state = request.app.state
    try:
        return auth.authenticate(state.db, state.settings, token, clock=state.clock)
    except Unauthenticated:
        return None


def _page(request: Request, name: str, ctx: Context, **values: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"principal": ctx.principal, "version": __version__, **values}
    )


def _signin() -> RedirectResponse:
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def install(app: FastAPI) -> None:
    """Mount the console's pages and static files on ``app``."""
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        ctx = _context(request)
        if ctx is None:
            return _signin()
        try:
            lights = board.board(ctx)
        except AndonError as exc:
            return _page(request, "error.html", ctx, error=str(exc), active="board")
        return _page(
            request, "board.html", ctx, lights=lights, overall=board.worst(lights), active="board"
        )

    @app.get("/console/login", include_in_schema=False)
    def login_form(request: Request) -> Response:
        return templates.TemplateResponse(
            request, "login.html", {"error": None, "version": __version__}
        )

    @app.post("/console/login", include_in_schema=False)
    def login(request: Request, token: str = Form("")) -> Response:
        state = request.app.state
        try:
            auth.authenticate(state.db, state.settings, token.strip(), clock=state.clock)
        except Unauthenticated as exc:
            return templates.TemplateResponse(
                request, "login.html", {"error": str(exc), "version": __version__}, status_code=401
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE, token.strip(), httponly=True, samesite="strict", max_age=8 * 3600
        )
        return response

    @app.post("/console/logout", include_in_schema=False)
    def logout() -> Response:
        return _signin()

    @app.get("/console/teams", include_in_schema=False)
    def teams(request: Request) -> Response:
        ctx = _context(request)
        if ctx is None:
            return _signin()
        views = []
        for team in auth.list_teams(ctx):
            try:
                now = auth.oncall(ctx, team.name)
                oncall, until = now.principal, f"{now.shift_end:%Y-%m-%d %H:%M}Z"
            except AndonError:
                oncall, until = None, None
            ladder = [(r.level, r.principal) for r in auth.escalation(ctx, team.name)]
            views.append(
                TeamView(
                    team.name,
                    team.description,
                    team.owners,
                    [m.name for m in team.members],
                    oncall,
                    until,
                    ladder,
                )
            )
        return _page(request, "teams.html", ctx, teams=views, active="teams")

    @app.get("/console/audit", include_in_schema=False)
    def audit_page(
        request: Request, actor: str | None = None, object_id: str | None = None
    ) -> Response:
        ctx = _context(request)
        if ctx is None:
            return _signin()
        try:
            entries = audit.list_entries(
                ctx, actor=actor or None, object_id=object_id or None, limit=100
            )
        except AndonError as exc:
            return _page(request, "error.html", ctx, error=str(exc), active="audit")
        return _page(
            request,
            "audit.html",
            ctx,
            entries=entries,
            actor=actor or "",
            object_id=object_id or "",
            active="audit",
        )

    @app.post("/console/audit/verify", include_in_schema=False)
    def audit_verify(request: Request) -> Response:
        ctx = _context(request)
        if ctx is None:
            return HTMLResponse('<p class="red">signed out</p>', status_code=401)
        try:
            result = audit.verify(ctx)
        except AndonError as exc:
            return templates.TemplateResponse(
                request,
                "_verify.html",
                {"result": None, "error": str(exc)},
                status_code=exc.http_status,
            )
        return templates.TemplateResponse(
            request, "_verify.html", {"result": result, "error": None}
        )
