"""The console's traces page: a search of the traces the principal may read, per-endpoint
latency and error rate over the same range drawn as inline SVG, and one trace as a waterfall.

Everything is read through :mod:`andon.telemetry.traces` (and so
:func:`andon.telemetry.service.query`, which checks ``telemetry.read`` per team). Filters come
as query parameters: bad ones show the form again with the error naming the field (422); an
unknown trace id is the console's not-found page.

Listed in :data:`andon.web.routes.PAGES`, the console's one route table.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from andon.core.context import Context
from andon.core.errors import AndonError, Invalid
from andon.telemetry import traces
from andon.web import charts
from andon.web.shared import (
    SignedOut,
    error_page,
    page,
    render,
    session_context,
    signed_in_page,
    signin,
)

DEFAULT_RANGE = timedelta(hours=24)
MAX_INDENT = 24
"""Deeper spans are drawn at this indent (their depth is still shown)."""

router = APIRouter(include_in_schema=False)


def _count(text: str | None, field: str, default: int) -> int:
    if text is None or not text.strip():
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise Invalid("not a whole number", field=field) from None


def _href(filters: dict[str, str], offset: int) -> str:
    kept = {k: v for k, v in filters.items() if v and k != "offset"}
    return "/console/traces?" + urlencode(kept | ({"offset": str(offset)} if offset else {}))


def _search(ctx: Context, filters: dict[str, str]) -> dict[str, Any]:
    """Everything the traces page shows for ``filters`` (the query's text values)."""
    since = traces.parse_time(filters["since"], "since")
    until = traces.parse_time(filters["until"], "until")
    limit = _count(filters["limit"], "limit", traces.DEFAULT_LIMIT)
    offset = _count(filters["offset"], "offset", 0)
    now = traces.utc(ctx.clock.now())
    if since is None and until is None:
        since = now - DEFAULT_RANGE
    found = traces.search_traces(
        ctx,
        endpoint=filters["endpoint"],
        status=filters["status"] or None,
        min_ms=traces.parse_ms(filters["min_ms"]),
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    plot_until = until or max(now, since + timedelta(minutes=1) if since else now)
    latency = traces.endpoint_latency(
        ctx,
        since=since or plot_until - DEFAULT_RANGE,
        until=plot_until,
        endpoint=filters["endpoint"],
    )
    return {
        "found": found,
        "since": since,
        "until": until,
        "latency": latency,
        "panels": charts.latency_panels(latency),
        "chart": charts,
        "newer": _href(filters, max(offset - limit, 0)) if offset else None,
        "older": _href(filters, offset + limit) if found.more else None,
    }


@router.get("/console/traces")
def traces_page(
    request: Request,
    endpoint: str = "",
    status: str = "",
    min_ms: str = "",
    since: str = "",
    until: str = "",
    limit: str = "",
    offset: str = "",
) -> Response:
    """Traces newest first under the filters, and per-endpoint p50/p95 and error rate."""
    filters = {"endpoint": endpoint, "status": status, "min_ms": min_ms, "since": since,
               "until": until, "limit": limit, "offset": offset}  # fmt: skip
    try:
        ctx = session_context(request)
    except SignedOut as out:
        return signin(out.ended)
    base = {"filters": filters, "statuses": traces.STATUSES, "error": None}
    try:
        values = _search(ctx, filters)
    except Invalid as exc:
        # The form again, saying which filter is wrong.
        return render(
            request,
            "traces.html",
            {"principal": ctx.principal, "active": "traces", "found": None, "panels": []}
            | base
            | {"error": exc},
            status_code=exc.http_status,
        )
    except AndonError as exc:
        return error_page(request, ctx, exc, "traces")
    return page(request, "traces.html", ctx, "traces", **base, **values)


def shown(value: Any) -> str:
    """An attribute value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@router.get("/console/traces/{trace_id}")
def trace_page(request: Request, trace_id: str) -> Response:
    """One trace as a waterfall: spans in tree order, bars placed by offset and duration."""

    def load(ctx: Context) -> dict[str, Any]:
        one = traces.trace(ctx, trace_id)
        bars = [charts.waterfall_bar(one, s.offset_ms, s.duration_ms) for s in one.spans]
        return {
            "trace": one,
            "rows": list(zip(one.spans, bars, strict=True)),
            "bar_units": charts.BAR_UNITS,
            "max_indent": MAX_INDENT,
            "shown": shown,
            "orphans": sum(s.orphan for s in one.spans),
        }

    return signed_in_page(request, "trace.html", "traces", load)
