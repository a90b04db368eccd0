"""`andon eval run|show|list`: the evaluation harness."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from andon.cli._shared import Format, FormatOption, ReasonOption, context, print_json, report, say

if TYPE_CHECKING:
    from andon.evaluate.records import EvaluationRecord

app = typer.Typer(
    help="Evaluate model versions against their champion: quality, slices, bias, latency, cost.",
    no_args_is_help=True,
)

_COLORS = {"better": "green", "worse": "red"}


def print_report(evaluation: EvaluationRecord) -> None:
    """The evaluation as Rich tables: metrics with the champion and coloured deltas."""
    from rich.console import Console
    from rich.table import Table

    from andon.evaluate.report import fmt, metric_rows, slice_rows

    console = Console(highlight=False)
    compared = evaluation.champion_metrics is not None
    console.print(
        f"[bold]{evaluation.team}/{evaluation.ref}[/] evaluated by suite "
        f"[bold]{evaluation.suite_name}[/] on {evaluation.dataset} "
        f"({evaluation.dataset_version_id}): {evaluation.id}"
    )
    if not compared:
        console.print("no champion to compare against (the model has none, or it is this version)")
    title = f"vs champion @{evaluation.champion_version}" if compared else "metrics"
    table = Table(title=title, title_justify="left")
    for column in ("metric", "candidate", *(("champion", "delta") if compared else ())):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for row in metric_rows(evaluation):
        cells = [row.name, fmt(row.candidate)]
        if compared:
            delta = "" if row.delta is None else f"{row.delta:+.4g}"
            color = _COLORS.get(row.verdict)
            cells += [fmt(row.champion), f"[{color}]{delta}[/]" if color else delta]
        table.add_row(*cells)
    console.print(table)
    columns, slices = slice_rows(evaluation)
    if slices:
        sliced = Table(title="slices", title_justify="left")
        sliced.add_column("slice")
        for name in columns:
            sliced.add_column(name, justify="right")
        for key, values in slices:
            sliced.add_row(key, *(fmt(v) for v in values))
        console.print(sliced)


@app.command("run")
def eval_run(
    ref: str = typer.Argument(..., help="NAME@VERSION (or NAME@ALIAS) to evaluate."),
    suite: Path = typer.Option(..., "--suite", help="The evaluation suite (YAML)."),
    dataset_version: str = typer.Option(
        None, "--dataset-version", help="Dataset version id (default: the suite dataset's newest)."
    ),
    fmt: Format = FormatOption,
    reason: str = ReasonOption,
) -> None:
    """Score a model version and its champion with a suite; store and print the report."""
    from andon.evaluate import service

    evaluation = service.run_evaluation(
        context(), ref, suite, dataset_version=dataset_version, reason=reason
    )
    if fmt is Format.json:
        print_json(evaluation.as_dict())
    else:
        print_report(evaluation)


@app.command("show")
def eval_show(evaluation_id: str, fmt: Format = FormatOption) -> None:
    """One stored evaluation report."""
    from andon.evaluate import service

    evaluation = service.get_evaluation(context(), evaluation_id)
    if fmt is Format.json:
        print_json(evaluation.as_dict())
    else:
        print_report(evaluation)


@app.command("list")
def eval_list(
    ref: str = typer.Argument(..., help="NAME (every version) or NAME@VERSION."),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="At most this many."),
    fmt: Format = FormatOption,
) -> None:
    """Evaluations of a model or a version, newest first."""
    from andon.evaluate import report as evaluation_report
    from andon.evaluate import service

    evaluations = service.list_evaluations(context(), ref, limit=limit)
    report(
        fmt,
        evaluations,
        "evaluations",
        ["id", "version", "suite", "f1", "Δf1 vs champion", "dp diff", "p95 ms", "when"],
        lambda ev: (
            ev.id,
            ev.version,
            ev.suite_name,
            evaluation_report.fmt(ev.metrics.get("f1", ev.metrics.get("rmse"))),
            evaluation_report.fmt(ev.deltas.get("f1", ev.deltas.get("rmse"))),
            evaluation_report.fmt((ev.metrics.get("bias") or {}).get("demographic_parity_diff")),
            evaluation_report.fmt(ev.metrics.get("latency_p95_ms")),
            ev.created_at.strftime("%Y-%m-%d %H:%M"),
        ),
    )
    if fmt is Format.table and not evaluations:
        say("no evaluations yet: `andon eval run NAME@VERSION --suite SUITE.yaml`")
