"""Console pages of the evaluation harness: one evaluation's report, a model's evaluations.

Registered on the app by :func:`andon.web.routes.install` (``app.include_router(router)``).
The shared console helpers (session, page rendering, errors) live in :mod:`andon.web.routes`,
which imports this module; they are imported inside the handlers to keep the import acyclic.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from andon.core.errors import AndonError
from andon.evaluate import report
from andon.evaluate import service as evaluate

router = APIRouter(include_in_schema=False)


@router.get("/console/evaluations/{evaluation_id}")
def evaluation_page(request: Request, evaluation_id: str) -> Response:
    """One evaluation: candidate and champion metrics with deltas, bias, slices."""
    from andon.web import routes as console

    try:
        ctx = console._context(request)
    except console._SignedOut as out:
        return console._signin(out.ended)
    try:
        evaluation = evaluate.get_evaluation(ctx, evaluation_id)
    except AndonError as exc:
        return console._error(request, ctx, exc, "evaluations")
    columns, slices = report.slice_rows(evaluation)
    return console._page(
        request,
        "evaluation.html",
        ctx,
        "evaluations",
        evaluation=evaluation,
        rows=report.metric_rows(evaluation),
        slice_columns=columns,
        slices=slices,
        groups=(evaluation.metrics.get("bias") or {}).get("groups", {}),
        fmt=report.fmt,
        evaluations=None,
    )


@router.get("/console/evaluations")
def evaluations_page(request: Request, model: str = "") -> Response:
    """The evaluations of a model (``?model=TEAM/NAME`` or ``NAME@VERSION``), newest first."""
    from andon.web import routes as console

    try:
        ctx = console._context(request)
    except console._SignedOut as out:
        return console._signin(out.ended)
    try:
        found = evaluate.list_evaluations(ctx, model) if model else []
    except AndonError as exc:
        return console._error(request, ctx, exc, "evaluations")
    return console._page(
        request,
        "evaluation.html",
        ctx,
        "evaluations",
        evaluation=None,
        evaluations=found,
        model=model,
        fmt=report.fmt,
    )
