"""`andon eval run|show|list`: the evaluation harness."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from andon.cli._shared import Format, FormatOption, ReasonOption, context, print_json, report, say

if TYPE_CHECKING:
    from andon.evaluate.records import EvaluationRecord

app = typer.Typer(
    help="Evaluate model versions against their champion: quality, slices, bias, latency, cost.",
    no_args_is_help=True,
)

# Metrics where lower is better: a negative delta is an improvement.
_LOWER_IS_BETTER = {
    "bias",
    "log_loss",
    "rmse",
    "mae",
    "latency_p50_ms",
    "latency_p95_ms",
    "cost_per_1k",
}
_TOP = (
    "rows",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "rmse",
    "mae",
    "latency_p50_ms",
    "latency_p95_ms",
    "cost_per_1k",
)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _delta(key: str, delta: float | None) -> str:
    """The delta coloured green when it is an improvement, red when a regression."""
    if delta is None:
        return ""
    if delta == 0 or key == "rows":
        return f"{delta:+.4g}"
    better = delta < 0 if key in _LOWER_IS_BETTER else delta > 0
    return f"[{'green' if better else 'red'}]{delta:+.4g}[/]"


def print_report(evaluation: EvaluationRecord) -> None:
    """The evaluation as Rich tables: metrics with the champion and coloured deltas."""
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    champion = evaluation.champion_metrics
    console.print(
        f"[bold]{evaluation.team}/{evaluation.ref}[/] evaluated by suite "
        f"[bold]{evaluation.suite_name}[/] on {evaluation.dataset} "
        f"({evaluation.dataset_version_id}): {evaluation.id}"
    )
    if champion is None:
        console.print("no champion to compare against (the model has none, or it is this version)")
    title = f"vs champion @{evaluation.champion_version}" if champion is not None else "metrics"
    table = Table(title=title, title_justify="left")
    for column in ("metric", "candidate", *(("champion", "delta") if champion is not None else ())):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key in _TOP:
        if key not in evaluation.metrics:
            continue
        row = [key, _fmt(evaluation.metrics[key])]
        if champion is not None:
            row += [_fmt(champion.get(key)), _delta(key, evaluation.deltas.get(key))]
        table.add_row(*row)
    bias = evaluation.metrics.get("bias")
    if bias:
        for key in ("demographic_parity_diff", "equalized_odds_diff"):
            row = [f"bias.{key}", _fmt(bias.get(key))]
            if champion is not None:
                theirs = (champion.get("bias") or {}).get(key)
                mine = bias.get(key)
                gap = None if mine is None or theirs is None else round(mine - theirs, 6)
                row += [_fmt(theirs), _delta("bias", gap)]
            table.add_row(*row)
    console.print(table)
    slices = evaluation.metrics.get("slices") or {}
    if slices:
        names = [k for k in ("rows", "f1", "precision", "recall", "rmse", "mae", "positive_rate")]
        shown = [n for n in names if any(n in s for s in slices.values())]
        sliced = Table(title="slices", title_justify="left")
        sliced.add_column("slice")
        for n in shown:
            sliced.add_column(n, justify="right")
        for key, values in slices.items():
            sliced.add_row(key, *(_fmt(values.get(n)) for n in shown))
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
            _fmt(ev.metrics.get("f1", ev.metrics.get("rmse"))),
            _fmt(ev.deltas.get("f1", ev.deltas.get("rmse"))),
            _fmt((ev.metrics.get("bias") or {}).get("demographic_parity_diff")),
            _fmt(ev.metrics.get("latency_p95_ms")),
            ev.created_at.strftime("%Y-%m-%d %H:%M"),
        ),
    )
    if fmt is Format.table and not evaluations:
        say("no evaluations yet: `andon eval run NAME@VERSION --suite SUITE.yaml`")
