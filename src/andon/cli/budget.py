"""`andon budget show`: what each endpoint's budgets have spent, hold and have left."""

from __future__ import annotations

import typer

from andon.cli._shared import Format, FormatOption, context, report

app = typer.Typer(
    help="Endpoint budgets: spend, reservations and what is left in each UTC window.",
    no_args_is_help=True,
)


@app.command("show")
def budget_show(
    endpoint: str = typer.Option(None, "--endpoint", help="Only this endpoint's budgets."),
    team: str = typer.Option(None, "--team", help="Only the budgets of this team's endpoints."),
    fmt: Format = FormatOption,
) -> None:
    """The current window of every budget you may read (amounts in USD)."""
    from andon.serve import service
    from andon.serve.budgets import usd

    report(
        fmt,
        service.budget_status(context(), endpoint=endpoint, team=team),
        "budgets",
        [
            "endpoint",
            "scope",
            "key",
            "period",
            "limit",
            "spent",
            "reserved",
            "left",
            "used",
            "resets",
        ],
        lambda b: (
            b.endpoint,
            b.scope,
            b.key,
            b.period,
            usd(b.limit_nanos),
            usd(b.spent_nanos),
            usd(b.reserved_nanos),
            usd(b.left_nanos),
            f"{b.percent:g} %",
            b.resets_at.strftime("%Y-%m-%d %H:%M"),
        ),
    )
