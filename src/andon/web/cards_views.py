"""Console pages of the AI factory: a model card, and the lineage graph drawn as inline SVG.

The graph is laid out on the server (:func:`andon.cards.graph.lineage_view`) and drawn with
SVG presentation attributes only: no script and no inline style, so the console's
Content-Security-Policy stays as strict as on every other page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from andon.cards import graph as card_graph
from andon.cards import render
from andon.cards import service as cards
from andon.core.errors import AndonError
from andon.lineage import coverage as lineage_coverage
from andon.web.routes import _context, _error, _page, _SignedOut, _signin

# Fill colours of the graph's node kinds (SVG presentation attributes, not CSS).
KIND_FILLS = {
    "dataset_version": "#ddf4ff",
    "run": "#fff8c5",
    "model_version": "#dafbe1",
    "model": "#dafbe1",
    "evaluation": "#fbefff",
    "gate_decision": "#ffebe9",
    "approval": "#fff1e5",
    "promotion": "#eaeef2",
}


def node_href(node: card_graph.Node) -> str:
    """Where a node of the graph links: a model version's card, any other object's graph."""
    if node.kind == "model_version":
        return f"/console/models/{node.id}/card"
    return f"/console/lineage?object={node.id}"


def install(app: FastAPI) -> None:
    """Mount the card and lineage pages on ``app``."""

    @app.get("/console/models/{ref:path}/card", include_in_schema=False)
    def card_page(request: Request, ref: str) -> Response:
        try:
            ctx = _context(request)
        except _SignedOut as out:
            return _signin(out.ended)
        try:
            card = cards.model_card(ctx, ref)
        except AndonError as exc:
            return _error(request, ctx, exc, "lineage")
        columns, rows = render.slice_table(card)
        return _page(
            request,
            "card.html",
            ctx,
            "lineage",
            card=card,
            metric_rows=render.metric_rows(card),
            slice_columns=columns,
            slice_rows=rows,
            dataset_line=render.dataset_line,
            number=render.number,
            signature=render.signature_lines(card.artifact.signature),
        )

    @app.get("/console/lineage", include_in_schema=False)
    def lineage_page(request: Request, object: str | None = None) -> Response:
        try:
            ctx = _context(request)
        except _SignedOut as out:
            return _signin(out.ended)
        try:
            report = lineage_coverage.coverage(ctx)
            view = card_graph.lineage_view(ctx, object) if object else None
        except AndonError as exc:
            return _error(request, ctx, exc, "lineage")
        return _page(
            request,
            "lineage.html",
            ctx,
            "lineage",
            coverage=report,
            view=view,
            obj=object or "",
            fills=KIND_FILLS,
            href=node_href,
        )
