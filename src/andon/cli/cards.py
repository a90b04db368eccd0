"""`andon model card|card-edit` and `andon lineage coverage`: model cards and lineage coverage.

The commands join the ``model`` and ``lineage`` groups of :mod:`andon.cli.registry`:
:mod:`andon.cli.main` adds them with :func:`add_model_commands` and :func:`add_lineage_commands`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from andon.cli._shared import Format, FormatOption, context, print_json, print_table, say


class CardFormat(StrEnum):
    """Output formats of `model card`."""

    md = "md"
    html = "html"
    json = "json"


def model_card(
    ref: str = typer.Argument(..., help="NAME@VERSION, NAME@ALIAS or NAME (latest)."),
    fmt: CardFormat = typer.Option(CardFormat.md, "--format", "-f", help="md, html or json."),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
) -> None:
    """The model card of a version: facts from the line and the owner's narrative."""
    from andon.cards import render, service

    card = service.model_card(context(), ref)
    text = render.render(card, fmt.value)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    state = "complete" if card.complete else f"incomplete (missing {', '.join(card.missing)})"
    say(f"wrote the card of [bold]{card.ref}[/] to {out}: {state}")


def model_card_edit(
    ref: str = typer.Argument(..., help="NAME@VERSION (sections carry forward to later ones)."),
    section: str = typer.Argument(
        ...,
        help="purpose, intended_users, out_of_scope, limitations, risks, "
        "ethical_considerations or monitoring.",
    ),
    text: str = typer.Option(None, "--text", help="The section's text (empty clears it)."),
    file: Path = typer.Option(None, "--file", help="Read the text from this file."),
) -> None:
    """Write one narrative section of a model card (audited)."""
    from andon.cards import narrative
    from andon.core.errors import Invalid, NotFound

    if (text is None) == (file is None):
        raise Invalid("give exactly one of --text or --file", field="--text")
    if file is not None:
        if not file.is_file():
            raise NotFound(f"no file at {file}", field="--file")
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise Invalid(f"{file} is not UTF-8 text", field="--file") from None
    assert text is not None
    state = narrative.edit_section(context(), ref, section, text)
    done = "complete" if state.complete else f"missing {', '.join(state.missing)}"
    say(f"{section} of [bold]{ref}[/] written; card {done}")


def lineage_coverage(fmt: Format = FormatOption) -> None:
    """Share of production model versions whose chain is complete, and what each one lacks."""
    from andon.lineage.coverage import coverage

    report = coverage(context())
    if fmt is Format.json:
        print_json(report.as_dict())
        return
    print_table(
        f"lineage coverage: {report.complete} of {report.total} production model versions "
        f"complete ({report.share:.0%})",
        ["model version", "team", "champion", "complete", "missing links"],
        [
            (
                v.ref,
                v.team,
                "yes" if v.champion else "",
                "yes" if v.complete else "no",
                ", ".join(v.missing),
            )
            for v in report.versions
        ],
    )


def add_model_commands(model_app: typer.Typer) -> None:
    """Add ``card`` and ``card-edit`` to the ``andon model`` group."""
    model_app.command("card")(model_card)
    model_app.command("card-edit")(model_card_edit)


def add_lineage_commands(lineage_app: typer.Typer) -> None:
    """Add ``coverage`` to the ``andon lineage`` group."""
    lineage_app.command("coverage")(lineage_coverage)
