"""Console pages of the evaluation harness: one evaluation's report, a model's evaluations.

Listed in :data:`andon.web.routes.PAGES`, the console's one route table.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from andon.core.context import Context
from andon.evaluate import report
from andon.evaluate import service as evaluate
from andon.web.shared import signed_in_page

router = APIRouter(include_in_schema=False)


@router.get("/console/evaluations/{evaluation_id}")
def evaluation_page(request: Request, evaluation_id: str) -> Response:
    """One evaluation: candidate and champion metrics with deltas, bias, slices."""

    def load(ctx: Context) -> dict[str, Any]:
        evaluation = evaluate.get_evaluation(ctx, evaluation_id)
        columns, slices = report.slice_rows(evaluation)
        return {
            "evaluation": evaluation,
            "rows": report.metric_rows(evaluation),
            "slice_columns": columns,
            "slices": slices,
            "groups": (evaluation.metrics.get("bias") or {}).get("groups", {}),
            "fmt": report.fmt,
            "evaluations": None,
        }

    return signed_in_page(request, "evaluation.html", "evaluations", load)


@router.get("/console/evaluations")
def evaluations_page(request: Request, model: str = "") -> Response:
    """The evaluations of a model (``?model=TEAM/NAME`` or ``NAME@VERSION``), newest first."""

    def load(ctx: Context) -> dict[str, Any]:
        found = evaluate.list_evaluations(ctx, model) if model else []
        return {"evaluation": None, "evaluations": found, "model": model, "fmt": report.fmt}

    return signed_in_page(request, "evaluation.html", "evaluations", load)
