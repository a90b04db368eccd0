"""The console's endpoints page: every gateway endpoint the principal may read, whether it
serves or which cord stops it, its budgets; a detail view; and the **Stop** / **Release**
buttons of an endpoint's andon cord.

Stop and Release each take two steps: ``GET .../stop`` shows a confirmation with a required
reason (an HTMX fragment under the endpoint's row, or a whole page without HTMX), and
``POST .../stop`` pulls the cord through :func:`andon.serve.service.pull_endpoint_cord` as
the signed-in principal, whose permission the service checks. A POST is a plain form post
under the session cookie (HttpOnly, SameSite=Strict, so no other site can send it) and the
Content-Security-Policy's ``form-action 'self'``. Buttons are shown only to whom the service
would let act; a refusal is the error page with the error's status, never a 500.

Listed in :data:`andon.web.routes.PAGES`, the console's one route table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import AndonError, Forbidden, NotFound
from andon.policy import cord as line_cords
from andon.policy.records import CordRecord
from andon.serve import service as serve
from andon.serve.records import EndpointRecord
from andon.web.shared import (
    SignedOut,
    error_page,
    render,
    session_context,
    signed_in_page,
    signin,
)

RECENT = 10
ACTIONS = {"stop": ("pull", "Stop"), "release": ("release", "Release")}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class StopView:
    """The pulled cord that stops an endpoint (its own, its model's, its team's or all)."""

    scope: str
    target: str
    by: str
    at: datetime
    reason: str

    @property
    def text(self) -> str:
        """``stopped by P at T: reason``, naming the cord when it is not the endpoint's own."""
        where = "" if self.scope == "endpoint" else f" ({self.what}'s cord)"
        return f"stopped{where} by {self.by} at {self.at:%Y-%m-%d %H:%M} UTC: {self.reason}"

    @property
    def what(self) -> str:
        """``model fraud``, ``team support``, ``the whole line``."""
        return "the whole line" if self.scope == "all" else f"{self.scope} {self.target}"


@dataclass(frozen=True)
class EndpointView:
    """One endpoint as the list shows it, with the cord buttons the principal may press."""

    name: str
    team: str
    kind: str
    serves: str
    stop: StopView | None
    budget_percent: float | None
    """The fullest current budget window, in percent; None without budgets."""
    can_pull: bool
    """Not stopped by its own cord, and the principal holds ``cord.pull`` on it."""
    can_release: bool
    """Stopped by its own cord, and the principal holds ``cord.release`` on it."""


def serves(record: EndpointRecord) -> str:
    """What an endpoint serves: ``MODEL@ALIAS`` or its upstreams (and their models)."""
    spec = record.spec
    if record.kind == "model":
        return f"{spec['model']}@{spec['alias']}"
    return ", ".join(
        u["url"] + (f" as {u['model']}" if u.get("model") else "") for u in spec["upstreams"]
    )


def _line_cords(ctx: Context) -> list[CordRecord]:
    """Pulled model, team and ``all`` cords the principal may read (none without model.read)."""
    try:
        return [c for c in line_cords.cord_status(ctx) if c.pulled]
    except Forbidden:
        return []


def stop_of(
    record: EndpointRecord, own: CordRecord | None, lines: list[CordRecord]
) -> StopView | None:
    """The narrowest pulled cord covering ``record``, as the gateway picks it."""
    if own is not None and own.pulled:
        return StopView("endpoint", own.target, own.changed_by, own.changed_at, own.reason)
    model = record.spec.get("model")
    for c in lines:
        covers = (
            (c.scope == "model" and c.target == model and c.team == record.team)
            or (c.scope == "team" and c.team == record.team)
            or c.scope == "all"
        )
        if covers:
            return StopView(c.scope, c.target, c.changed_by, c.changed_at, c.reason)
    return None


def _scopes(ctx: Context) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Team name -> id and (team, endpoint) -> asset id, as far as the principal may read
    them: enough to tell which cord buttons to show (the service decides anyway)."""
    try:
        teams = {team.name: team.id for team in auth.list_teams(ctx)}
    except Forbidden:
        teams = {}
    try:
        assets = {(a.team, a.name): a.id for a in auth.list_assets(ctx) if a.kind == "endpoint"}
    except Forbidden:
        assets = {}
    return teams, assets


def endpoint_views(ctx: Context, only: str | None = None) -> list[EndpointView]:
    """Every endpoint the principal may read (or just ``only``) with its state and buttons."""
    records = [serve.get_endpoint(ctx, only)] if only else serve.list_endpoints(ctx)
    own = {c.target: c for c in serve.endpoint_cords(ctx)}
    lines = _line_cords(ctx)
    percents: dict[str, float] = {}
    for budget in serve.budget_status(ctx, endpoint=only):
        percents[budget.endpoint] = max(percents.get(budget.endpoint, 0.0), budget.percent)
    teams, assets = _scopes(ctx)
    views = []
    for record in records:
        stop = stop_of(record, own.get(record.name), lines)
        scope = {
            "team_id": teams.get(record.team),
            "asset_id": assets.get((record.team, record.name)),
        }
        pulled = stop is not None and stop.scope == "endpoint"
        views.append(
            EndpointView(
                record.name,
                record.team,
                record.kind,
                serves(record),
                stop,
                percents.get(record.name, 0.0 if record.spec.get("budgets") else None),
                not pulled and ctx.can("cord.pull", **scope),
                pulled and ctx.can("cord.release", **scope),
            )
        )
    return views


@router.get("/console/endpoints")
def endpoints_page(request: Request) -> Response:
    """Every endpoint the principal may read: what it serves, whether it serves, budgets."""
    return signed_in_page(
        request, "endpoints.html", "endpoints", lambda ctx: {"endpoints": endpoint_views(ctx)}
    )


@router.get("/console/endpoints/{name}")
def endpoint_page(request: Request, name: str) -> Response:
    """One endpoint: its spec, recent deployments, recent guard violations (masked), budgets."""

    def load(ctx: Context) -> dict[str, Any]:
        record = serve.get_endpoint(ctx, name)
        deployments = serve.list_deployments(ctx, name) if record.kind == "model" else []
        return {
            "record": record,
            "view": endpoint_views(ctx, only=name)[0],
            "deployments": deployments[:RECENT],
            "violations": serve.list_violations(ctx, name, limit=RECENT),
            "budgets": serve.budget_status(ctx, endpoint=name),
            "recent": RECENT,
        }

    return signed_in_page(request, "endpoint.html", "endpoints", load)


def _verb(action: str) -> tuple[str, str]:
    """``(service verb, button label)`` of ``action``; NotFound unless stop or release."""
    if action not in ACTIONS:
        raise NotFound(f"'{action}' is not stop or release", field="action")
    return ACTIONS[action]


@router.get("/console/endpoints/{name}/{action}")
def confirm(request: Request, name: str, action: str) -> Response:
    """The confirmation of Stop or Release, with its required reason: a fragment for HTMX
    (swapped under the endpoint's row), a page otherwise."""
    fragment = request.headers.get("HX-Request") == "true"
    template = "_cord_confirm.html" if fragment else "cord_confirm.html"

    def load(ctx: Context) -> dict[str, Any]:
        verb, label = _verb(action)
        serve.get_endpoint(ctx, name)  # the endpoint exists and the principal may read it
        return {"endpoint": name, "action": action, "verb": verb, "label": label}

    return signed_in_page(request, template, "endpoints", load)


@router.post("/console/endpoints/{name}/{action}")
def act(request: Request, name: str, action: str, reason: str = Form("")) -> Response:
    """Pull (``stop``) or release the endpoint's cord as the signed-in principal, then back to
    the endpoints; the error page with the service's status when it refuses."""
    try:
        ctx = session_context(request)
    except SignedOut as out:
        return signin(out.ended)
    try:
        verb, label = _verb(action)
    except NotFound as exc:
        return error_page(request, ctx, exc, "endpoints")
    change = serve.pull_endpoint_cord if action == "stop" else serve.release_endpoint_cord
    try:
        change(ctx, name, reason=reason)
    except AndonError as exc:
        if exc.http_status in (403, 404):
            return error_page(request, ctx, exc, "endpoints")
        # A missing reason or a cord already in that state: the form again, saying why.
        values = {"endpoint": name, "action": action, "verb": verb, "label": label}
        return render(
            request,
            "cord_confirm.html",
            {"principal": ctx.principal, "active": "endpoints", "error": exc, "reason": reason}
            | values,
            status_code=exc.http_status,
        )
    return RedirectResponse(f"/console/endpoints#endpoint-{quote(name)}", status_code=303)
