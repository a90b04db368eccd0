"""Signing in and out of the console.

Sign-in stores the API token in an HttpOnly, SameSite=Strict cookie that lasts
:data:`SESSION_HOURS`; the token is checked by the same service as the API's bearer tokens.
Listed in :data:`andon.web.routes.PAGES`, the console's one route table.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from andon.auth import service as auth
from andon.core.errors import Unauthenticated
from andon.web.shared import COOKIE, LOGIN, SignedOut, render, session_context, signin

SESSION_HOURS = 8

# Why the sign-in page is shown; fixed sentences, so the URL cannot inject text.
NOTICES = {
    "ended": "Your session has ended: the token is no longer valid. Sign in again.",
    "out": "You are signed out.",
}

router = APIRouter(include_in_schema=False)


@router.get(LOGIN)
def login_form(request: Request, notice: str | None = None) -> Response:
    """The sign-in form, or the board when the session is still good."""
    try:
        session_context(request)
    except SignedOut:
        return render(request, "login.html", {"notice": NOTICES.get(notice or "")})
    return RedirectResponse("/", status_code=303)


@router.post(LOGIN)
def login(request: Request, token: str = Form("")) -> Response:
    """Check the token and keep it in the session cookie; the form again, with 401, if bad."""
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


@router.post("/console/logout")
def logout() -> Response:
    """Drop the session cookie and say so on the sign-in page."""
    return signin(notice="out")
