"""`andon audit ...` and `andon events ...`."""

from __future__ import annotations

import sys
from pathlib import Path

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
def verify(
    anchor: Path = typer.Option(
        None,
        "--anchor",
        help="Also check every anchor in this JSON-lines file (from `andon audit anchor`).",
    ),
    fmt: Format = FormatOption,
) -> None:
    """Check the keyed hash chain (and its anchors); exit 4 naming the first bad entry."""
    from andon.audit import service as audit

    result = audit.verify(context(), anchor_file=anchor)
    if fmt is Format.json:
        print_json(result.as_dict())
    elif result.ok:
        extra = [f"{result.anchors} anchors agree"] if anchor is not None else []
        if result.legacy:
            extra.append(f"{result.legacy} legacy unkeyed entries")
        say(
            f"[green]audit chain intact[/]: {result.checked} entries"
            + (f" ({', '.join(extra)})" if extra else "")
        )
    elif result.first_bad_seq is None:
        say(f"[red]audit anchors broken at line {result.bad_anchor}[/]: {result.problem}")
    else:
        where = f"entry {result.first_bad_seq}" + (
            f" ({result.first_bad_id})" if result.first_bad_id else ""
        )
        say(f"[red]audit chain broken at {where}[/]: {result.problem}")
    if not result.ok:
        raise typer.Exit(4)


@app.command("anchor")
def anchor(
    out: str = typer.Option(
        None, "--out", help="Append the anchor line to this file ('-': stdout, the default)."
    ),
    url: str = typer.Option(None, "--url", help="POST the anchor as JSON to this URL."),
    fmt: Format = FormatOption,
) -> None:
    """Export the signed chain head (one JSON line) to a place the database cannot reach."""
    from andon.audit import service as audit

    path = None if out in (None, "-") else Path(out)
    made = audit.anchor(context(), out=path, url=url)
    to_stdout = out == "-" or (out is None and url is None)
    if to_stdout:
        sys.stdout.write(made.line() + "\n")
        return
    if fmt is Format.json:
        print_json(made.as_dict())
    else:
        where = " and ".join(str(w) for w in (path, url) if w is not None)
        say(f"anchored entry {made.seq} ({made.hash[:12]}…) to {where}")


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
