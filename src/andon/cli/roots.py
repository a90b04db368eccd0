"""`andon data root ...`: the folders a team's file and DuckDB servers may read."""

from __future__ import annotations

from pathlib import Path

import typer

from andon.cli._shared import Format, FormatOption, ReasonOption, context, print_json, report, say

app = typer.Typer(
    help="Data roots: the folders a team's contracts may read (granted by a platform-admin).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    team: str,
    path: Path,
    reason: str = ReasonOption,
    fmt: Format = FormatOption,
) -> None:
    """Grant TEAM the folder PATH (absolute; symlinks resolved). Needs platform-admin."""
    from andon.data import roots

    record = roots.add_root(context(), team, path, reason=reason)
    if fmt is Format.json:
        print_json(record.as_dict())
        return
    say(f"granted data root {record.path} to team {record.team}")


@app.command("list")
def list_(team: str, fmt: Format = FormatOption) -> None:
    """The folders TEAM's contracts may read, the built-in sample folder first."""
    from andon.data import roots

    report(
        fmt,
        roots.list_roots(context(), team),
        "data roots",
        ["path", "origin", "granted"],
        lambda r: (
            r.path,
            r.origin,
            f"{r.granted_at:%Y-%m-%d %H:%M}Z by {r.granted_by}" if r.granted_at else "always",
        ),
    )


@app.command("remove")
def remove(team: str, path: Path, reason: str = ReasonOption) -> None:
    """Withdraw the folder PATH from TEAM; its contracts are refused at their next run."""
    from andon.data import roots

    roots.remove_root(context(), team, path, reason=reason)
    say(f"removed data root {path} from team {team}")
