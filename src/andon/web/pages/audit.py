"""The console's audit page: the newest entries (filtered by actor or object) and a button
that verifies the whole chain in an HTMX fragment.

Listed in :data:`andon.web.routes.PAGES`, the console's one route table.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from andon.audit import service as audit
from andon.core.context import Context
from andon.core.errors import AndonError
from andon.web.shared import COOKIE, SignedOut, render, session_context, signed_in_page, signin

LIMIT = 100

router = APIRouter(include_in_schema=False)


@router.get("/console/audit")
def audit_page(
    request: Request, actor: str | None = None, object_id: str | None = None
) -> Response:
    """The newest :data:`LIMIT` entries the principal may read."""

    def load(ctx: Context) -> dict[str, Any]:
        entries = audit.list_entries(
            ctx, actor=actor or None, object_id=object_id or None, limit=LIMIT
        )
        return {
            "entries": entries,
            "limit": LIMIT,
            "actor": actor or "",
            "object_id": object_id or "",
        }

    return signed_in_page(request, "audit.html", "audit", load)


@router.post("/console/audit/verify")
def audit_verify(request: Request) -> Response:
    """The verification result as a fragment (with the error's status when it is refused)."""
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
