"""The console: server-rendered pages (Jinja2) with HTMX fragments, no JS build step.

Sign-in stores the API token in an HttpOnly, SameSite=Strict cookie; every page goes through
the same services, and so the same permission checks, as the API. A service error becomes a
page (or fragment) that says what went wrong, with the error's HTTP status, never a 500.
Pages load only their own script and stylesheet, and say so in a Content-Security-Policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from andon.audit import service as audit
from andon.auth import service as auth
from andon.board import service as board
from andon.core.context import Context
from andon.core.errors import AndonError, NotFound, Unauthenticated
from andon.web import cards_views, data_views, evaluate_views
from andon.web.pages import (
    COOKIE,
    HERE,
    LOGIN,
    SignedOut,
    render,
    session_context,
    signed_in_page,
    signin,
)

SESSION_HOURS = 8

# Why the sign-in page is shown; fixed sentences, so the URL cannot inject text.
NOTICES = {
    "ended": "Your session has ended: the token is no longer valid. Sign in again.",
    "out": "You are signed out.",
}


@dataclass(frozen=True)
class TeamView:
    """A team as the console shows it: members, who is on call, the ladder."""

    name: str
    description: str
    owners: list[str]
    members: list[str]
    rotation: str | None
    oncall: str | None
    oncall_until: str | None
    ladder: list[tuple[str, str, str]]


def _team_view(ctx: Context, name: str) -> TeamView:
    team = auth.get_team(ctx, name)
    rotation: str | None = None
    oncall: str | None = None
    until: str | None = None
    try:
        now = auth.oncall(ctx, name)
    except NotFound:  # no rotation: the page says so
        pass
    else:
        rotation, oncall = now.rotation, now.principal
        until = f"{now.shift_end:%Y-%m-%d %H:%M}Z"
    ladder = [(r.level, r.principal, r.via) for r in auth.escalation(ctx, name)]
    return TeamView(
        team.name,
        team.description,
        team.owners,
        [m.name for m in team.members],
        rotation,
        oncall,
        until,
        ladder,
    )


def install(app: FastAPI) -> None:
    """Mount the console's pages and static files on ``app``."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in (evaluate_views.router, data_views.router, cards_views.router):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        def load(ctx: Context) -> dict[str, Any]:
            lights = board.board(ctx)
            return {"lights": lights, "overall": board.worst(lights)}

        return signed_in_page(request, "board.html", "board", load)

    @app.get(LOGIN, include_in_schema=False)
    def login_form(request: Request, notice: str | None = None) -> Response:
        try:
            session_context(request)
        except SignedOut:
            return render(request, "login.html", {"notice": NOTICES.get(notice or "")})
        return RedirectResponse("/", status_code=303)

    @app.post(LOGIN, include_in_schema=False)
    def login(request: Request, token: str = Form("")) -> Response:
        state = request.app.state
        token = token.strip()
        try:
            auth.authenticate(state.db, state.settings, token, clock=state.clock)
        except Unauthenticated as exc:
            return render(request, "login.html", {"error": str(exc)}, status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=SESSION_HOURS * 3600,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post("/console/logout", include_in_schema=False)
    def logout() -> Response:
        return signin(notice="out")

    @app.get("/console/teams", include_in_schema=False)
    def teams(request: Request) -> Response:
        return signed_in_page(
            request,
            "teams.html",
            "teams",
            lambda ctx: {"teams": [_team_view(ctx, team.name) for team in auth.list_teams(ctx)]},
        )

    @app.get("/console/audit", include_in_schema=False)
    def audit_page(
        request: Request, actor: str | None = None, object_id: str | None = None
    ) -> Response:
        def load(ctx: Context) -> dict[str, Any]:
            entries = audit.list_entries(
                ctx, actor=actor or None, object_id=object_id or None, limit=100
            )
            return {
                "entries": entries,
                "limit": 100,
                "actor": actor or "",
                "object_id": object_id or "",
            }

        return signed_in_page(request, "audit.html", "audit", load)

    @app.post("/console/audit/verify", include_in_schema=False)
    def audit_verify(request: Request) -> Response:
        try:
            ctx = session_context(request)
        except SignedOut as out:
            # Not a 303: the browser would follow it inside the fragment request. HTMX turns
            # HX-Redirect into a full page load of the sign-in page instead.
            location = signin(out.ended).headers["location"]
            response = HTMLResponse("", status_code=401, headers={"HX-Redirect": location})
            response.delete_cookie(COOKIE, httponly=True, samesite="strict")
            return response
        try:
            result = audit.verify(ctx)
        except AndonError as exc:
            return render(
                request,
                "_verify.html",
                {"result": None, "error": str(exc)},
                status_code=exc.http_status,
            )
        return render(request, "_verify.html", {"result": result, "error": None})
