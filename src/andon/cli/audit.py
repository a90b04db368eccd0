"""`andon audit ...` and `andon events ...`."""

from __future__ import annotations

import typer

from andon.cli._shared import Format, FormatOption, context, print_json, report, say

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
events_app = typer.Typer(help="The outbox of typed events.", no_args_is_help=True)


@app.command("log")
def log(
    object_id: str = typer.Option(None, "--object", help="Only entries about this object id."),
    actor: str = typer.Option(None, "--actor", help="Only entries by this principal."),
    limit: int = typer.Option(50, "--limit"),
    fmt: Format = FormatOption,
) -> None:
    """Audit entries, newest first."""
    from andon.audit import service as audit

    entries = audit.list_entries(context(), object_id=object_id, actor=actor, limit=limit)
    report(
        fmt,
        entries,
        "audit log",
        ["seq", "time", "actor", "action", "object", "reason"],
        lambda e: (e.seq, f"{e.ts:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.object_id, e.reason),
    )


@app.command("verify")
def verify(fmt: Format = FormatOption) -> None:
    """Check the hash chain; exit 4 naming the first bad entry if it was tampered with."""
    from andon.audit import service as audit

    result = audit.verify(context())
    if fmt is Format.json:
        print_json(result.as_dict())
    elif result.ok:
        say(f"[green]audit chain intact[/]: {result.checked} entries")
    else:
        where = f"entry {result.first_bad_seq}" + (
            f" ({result.first_bad_id})" if result.first_bad_id else ""
        )
        say(f"[red]audit chain broken at {where}[/]: {result.problem}")
    if not result.ok:
        raise typer.Exit(4)


@events_app.command("list")
def events_list(
    after: int = typer.Option(0, "--after", help="Only events after this sequence number."),
    type_: str = typer.Option(None, "--type"),
    limit: int = typer.Option(100, "--limit"),
    fmt: Format = FormatOption,
) -> None:
    """Outbox events in order."""
    from andon.events import service as events

    items = events.list_events(context(), after=after, limit=limit, type_=type_)
    report(
        fmt,
        items,
        "events",
        ["seq", "time", "type", "object"],
        lambda e: (e.seq, f"{e.created_at:%Y-%m-%d %H:%M:%S}", e.type, e.object_id),
    )
