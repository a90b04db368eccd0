"""The console: server-rendered pages (Jinja2) with HTMX fragments, no JS build step.

Sign-in stores the API token in an HttpOnly, SameSite=Strict cookie; every page goes through
the same services, and so the same permission checks, as the API. A service error becomes a
page (or fragment) that says what went wrong, with the error's HTTP status, never a 500.
Pages load only their own script and stylesheet, and say so in a Content-Security-Policy.
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
from andon.core.errors import AndonError, NotFound, Unauthenticated
from andon.web import cards_views, evaluate_views

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=_HERE / "templates")
COOKIE = "andon_token"
LOGIN = "/console/login"
SESSION_HOURS = 8

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

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


class _SignedOut(Exception):
    """The request carries no usable session; ``ended`` when it carried a dead one."""

    def __init__(self, ended: bool) -> None:
        super().__init__("signed out")
        self.ended = ended


def _context(request: Request) -> Context:
    token = request.cookies.get(COOKIE)
    if not token:
        raise _SignedOut(ended=False)
    state = request.app.state
    try:
        return auth.authenticate(state.db, state.settings, token, clock=state.clock)
    except Unauthenticated:
        raise _SignedOut(ended=True) from None


def _render(
    request: Request, name: str, values: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {"principal": None, "active": None, "version": __version__, **values},
        status_code=status_code,
        headers=HEADERS,
    )


def _page(request: Request, name: str, ctx: Context, active: str, **values: Any) -> HTMLResponse:
    return _render(request, name, {"principal": ctx.principal, "active": active, **values})


def _error(request: Request, ctx: Context, exc: AndonError, active: str) -> HTMLResponse:
    return _render(
        request,
        "error.html",
        {"principal": ctx.principal, "active": active, "error": exc},
        status_code=exc.http_status,
    )


def _signin(ended: bool = False, *, notice: str | None = None) -> RedirectResponse:
    notice = notice or ("ended" if ended else None)
    response = RedirectResponse(LOGIN + (f"?notice={notice}" if notice else ""), status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return response


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
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(evaluate_views.router)
    from andon.web.data_views import install as install_data_pages  # needs this module's helpers

    install_data_pages(app)
    app.include_router(cards_views.router)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        try:
            ctx = _context(request)
        except _SignedOut as out:
            return _signin(out.ended)
        try:
            lights = board.board(ctx)
        except AndonError as exc:
            return _error(request, ctx, exc, "board")
        return _page(
            request, "board.html", ctx, "board", lights=lights, overall=board.worst(lights)
        )

    @app.get(LOGIN, include_in_schema=False)
    def login_form(request: Request, notice: str | None = None) -> Response:
        try:
            _context(request)
        except _SignedOut:
            return _render(request, "login.html", {"notice": NOTICES.get(notice or "")})
        return RedirectResponse("/", status_code=303)

    @app.post(LOGIN, include_in_schema=False)
    def login(request: Request, token: str = Form("")) -> Response:
        state = request.app.state
        token = token.strip()
        try:
            auth.authenticate(state.db, state.settings, token, clock=state.clock)
        except Unauthenticated as exc:
            return _render(request, "login.html", {"error": str(exc)}, status_code=401)
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
        return _signin(notice="out")

    @app.get("/console/teams", include_in_schema=False)
    def teams(request: Request) -> Response:
        try:
            ctx = _context(request)
        except _SignedOut as out:
            return _signin(out.ended)
        try:
            views = [_team_view(ctx, team.name) for team in auth.list_teams(ctx)]
        except AndonError as exc:
            return _error(request, ctx, exc, "teams")
        return _page(request, "teams.html", ctx, "teams", teams=views)

    @app.get("/console/audit", include_in_schema=False)
    def audit_page(
        request: Request, actor: str | None = None, object_id: str | None = None
    ) -> Response:
        try:
            ctx = _context(request)
        except _SignedOut as out:
            return _signin(out.ended)
        try:
            entries = audit.list_entries(
                ctx, actor=actor or None, object_id=object_id or None, limit=100
            )
        except AndonError as exc:
            return _error(request, ctx, exc, "audit")
        return _page(
            request,
            "audit.html",
            ctx,
            "audit",
            entries=entries,
            limit=100,
            actor=actor or "",
            object_id=object_id or "",
        )

    @app.post("/console/audit/verify", include_in_schema=False)
    def audit_verify(request: Request) -> Response:
        try:
            ctx = _context(request)
        except _SignedOut as out:
            # Not a 303: the browser would follow it inside the fragment request. HTMX turns
            # HX-Redirect into a full page load of the sign-in page instead.
            location = _signin(out.ended).headers["location"]
            response = HTMLResponse("", status_code=401, headers={"HX-Redirect": location})
            response.delete_cookie(COOKIE, httponly=True, samesite="strict")
            return response
        try:
            result = audit.verify(ctx)
        except AndonError as exc:
            return _render(
                request,
                "_verify.html",
                {"result": None, "error": str(exc)},
                status_code=exc.http_status,
            )
        return _render(request, "_verify.html", {"result": result, "error": None})
