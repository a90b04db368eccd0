"""What every console page shares: the session cookie, rendering with the security headers,
the error page, and :func:`signed_in_page`, the one shape of a page that reads through the
services.

The page modules (:mod:`andon.web.pages`, one per page) import from here, so none of them
reaches into another's helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from andon import __version__
from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import AndonError, Unauthenticated

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
COOKIE = "andon_token"
LOGIN = "/console/login"

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SignedOut(Exception):
    """The request carries no usable session; ``ended`` when it carried a dead one."""

    def __init__(self, ended: bool) -> None:
        super().__init__("signed out")
        self.ended = ended


def session_context(request: Request) -> Context:
    """The signed-in principal's context, from the session cookie; :class:`SignedOut` if none."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignedOut(ended=False)
    state = request.app.state
    try:
        return auth.authenticate(state.db, state.settings, token, clock=state.clock)
    except Unauthenticated:
        raise SignedOut(ended=True) from None


def render(
    request: Request, name: str, values: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Template ``name`` with ``values``, under the console's security headers."""
    return templates.TemplateResponse(
        request,
        name,
        {"principal": None, "active": None, "version": __version__, **values},
        status_code=status_code,
        headers=HEADERS,
    )


def page(request: Request, name: str, ctx: Context, active: str, **values: Any) -> HTMLResponse:
    """A page for the signed-in principal, with ``active`` marked in the navigation."""
    return render(request, name, {"principal": ctx.principal, "active": active, **values})


def error_page(request: Request, ctx: Context, exc: AndonError, active: str) -> HTMLResponse:
    """What went wrong, with the error's own HTTP status (never a 500)."""
    return render(
        request,
        "error.html",
        {"principal": ctx.principal, "active": active, "error": exc},
        status_code=exc.http_status,
    )


def signin(ended: bool = False, *, notice: str | None = None) -> RedirectResponse:
    """To the sign-in page, dropping the session cookie."""
    notice = notice or ("ended" if ended else None)
    response = RedirectResponse(LOGIN + (f"?notice={notice}" if notice else ""), status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return response


def signed_in_page(
    request: Request, template: str, active: str, load: Callable[[Context], dict[str, Any]]
) -> Response:
    """The usual page: sign-in redirect without a session, else ``template`` filled with what
    ``load(ctx)`` reads through the services, or the error page when a service refuses."""
    try:
        ctx = session_context(request)
    except SignedOut as out:
        return signin(out.ended)
    try:
        values = load(ctx)
    except AndonError as exc:
        return error_page(request, ctx, exc, active)
    return page(request, template, ctx, active, **values)
