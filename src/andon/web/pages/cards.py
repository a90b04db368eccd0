"""Console pages of the AI factory: a model card, and the lineage graph drawn as inline SVG.

The graph is laid out on the server (:func:`andon.cards.graph.lineage_view`) and drawn with
SVG presentation attributes only: no script and no inline style, so the console's
Content-Security-Policy stays as strict as on every other page.

Listed in :data:`andon.web.routes.PAGES`, the console's one route table.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from andon.cards import graph as card_graph
from andon.cards import render
from andon.cards import service as cards
from andon.core.context import Context
from andon.lineage import coverage as lineage_coverage
from andon.web.shared import signed_in_page

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


router = APIRouter(include_in_schema=False)


@router.get("/console/models/{ref:path}/card")
def card_page(request: Request, ref: str) -> Response:
    """The card of one model version (``NAME@VERSION``, ``NAME@ALIAS`` or a version id)."""

    def load(ctx: Context) -> dict[str, Any]:
        card = cards.model_card(ctx, ref)
        columns, rows = render.slice_table(card)
        group_columns, group_rows = render.bias_groups(card)
        return {
            "card": card,
            "metric_rows": render.metric_rows(card),
            "slice_columns": columns,
            "slice_rows": rows,
            "bias_rows": render.bias_rows(card),
            "group_columns": group_columns,
            "group_rows": group_rows,
            "dataset_line": render.dataset_line,
            "number": render.number,
            "signature": render.signature_lines(card.artifact.signature),
        }

    return signed_in_page(request, "card.html", "lineage", load)


@router.get("/console/lineage")
def lineage_page(request: Request, object: str | None = None) -> Response:
    """Lineage coverage, and the graph around ``?object=`` (an id or ``NAME@VERSION``)."""

    def load(ctx: Context) -> dict[str, Any]:
        return {
            "coverage": lineage_coverage.coverage(ctx),
            "view": card_graph.lineage_view(ctx, object) if object else None,
            "obj": object or "",
            "fills": KIND_FILLS,
            "href": node_href,
        }

    return signed_in_page(request, "lineage.html", "lineage", load)
