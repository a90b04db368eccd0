"""`andon team ...`: teams, members, on-call rotations and escalation ladders."""

from __future__ import annotations

import typer

from andon.cli._shared import (
    Format,
    FormatOption,
    ReasonOption,
    context,
    parse_time,
    print_json,
    report,
    say,
)

app = typer.Typer(help="Teams, ownership, on-call and escalation.", no_args_is_help=True)


@app.command("create")
def create(
    name: str,
    description: str = typer.Option("", "--description", "-d"),
    owner: list[str] = typer.Option([], "--owner", help="An owner (repeatable)."),
    reason: str = ReasonOption,
) -> None:
    """Create a team."""
    from andon.auth import service as auth

    team = auth.create_team(context(), name, description=description, owners=owner, reason=reason)
    say(f"created team [bold]{team.name}[/] ({team.id})")


@app.command("list")
def list_(fmt: Format = FormatOption) -> None:
    """Teams you can see."""
    from andon.auth import service as auth

    report(
        fmt,
        auth.list_teams(context()),
        "teams",
        ["name", "owners", "members", "description"],
        lambda t: (t.name, ", ".join(t.owners), len(t.members), t.description),
    )


@app.command("show")
def show(name: str, fmt: Format = FormatOption) -> None:
    """One team with its members."""
    from andon.auth import service as auth

    team = auth.get_team(context(), name)
    if fmt is Format.json:
        print_json(team.as_dict())
        return
    say(f"[bold]{team.name}[/] ({team.id}) {team.description}")
    for member in team.members:
        say(f"  {member.name}{' (owner)' if member.owner else ''}")


@app.command("add-member")
def add_member(
    team: str,
    principal: str,
    owner: bool = typer.Option(False, "--owner", help="Make the member an owner."),
    reason: str = ReasonOption,
) -> None:
    """Add a principal to a team."""
    from andon.auth import service as auth

    auth.add_member(context(), team, principal, owner=owner, reason=reason)
    say(f"{principal} is now {'an owner' if owner else 'a member'} of {team}")


@app.command("remove-member")
def remove_member(team: str, principal: str, reason: str = ReasonOption) -> None:
    """Remove a principal from a team."""
    from andon.auth import service as auth

    auth.remove_member(context(), team, principal, reason=reason)
    say(f"{principal} removed from {team}")


@app.command("rotation")
def rotation(
    team: str,
    name: str,
    members: str = typer.Option(..., "--members", help="Comma-separated, in rotation order."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA timezone of the handoff."),
    handoff: str = typer.Option("09:00", "--handoff", help="Local handoff time, HH:MM."),
    period_hours: int = typer.Option(168, "--period-hours", help="Shift length (168 = weekly)."),
    starts_on: str = typer.Option(..., "--starts-on", help="Date of the first shift, YYYY-MM-DD."),
    reason: str = ReasonOption,
) -> None:
    """Create or replace an on-call rotation."""
    from andon.auth import service as auth

    people = [m.strip() for m in members.split(",") if m.strip()]
    rot = auth.set_rotation(
        context(),
        team,
        name,
        people,
        timezone=timezone,
        handoff=handoff,
        period_hours=period_hours,
        starts_on=starts_on,
        reason=reason,
    )
    say(
        f"rotation {team}/{rot.name}: {' → '.join(rot.members)}, handoff {rot.handoff} {rot.timezone}"
    )


@app.command("oncall")
def oncall(
    team: str,
    at: str = typer.Option(None, "--at", help="ISO 8601 instant (default now)."),
    rotation: str = typer.Option(None, "--rotation", help="A rotation name (default the first)."),
    fmt: Format = FormatOption,
) -> None:
    """Who gets paged for TEAM now, or at --at."""
    from andon.auth import service as auth

    answer = auth.oncall(context(), team, at=parse_time(at), rotation=rotation)
    if fmt is Format.json:
        print_json(answer.as_dict())
    else:
        say(
            f"[bold]{answer.principal}[/] is on call for {team} ({answer.rotation}) "
            f"from {answer.shift_start:%Y-%m-%d %H:%M}Z to {answer.shift_end:%Y-%m-%d %H:%M}Z"
        )


@app.command("escalation")
def escalation(
    team: str,
    at: str = typer.Option(None, "--at", help="ISO 8601 instant (default now)."),
    fmt: Format = FormatOption,
) -> None:
    """The escalation ladder: model owner, platform owner, risk owner."""
    from andon.auth import service as auth

    rungs = auth.escalation(context(), team, at=parse_time(at))
    report(
        fmt,
        rungs,
        f"escalation ladder of {team}",
        ["level", "principal", "via"],
        lambda r: (r.level, r.principal, r.via),
    )


@app.command("set-escalation")
def set_escalation(
    team: str,
    level: str = typer.Argument(..., help="model-owner, platform-owner or risk-owner."),
    principal: str = typer.Option(None, "--principal"),
    rotation: str = typer.Option(None, "--rotation"),
    reason: str = ReasonOption,
) -> None:
    """Point one rung of the ladder at a principal or a rotation."""
    from andon.auth import service as auth

    auth.set_escalation(
        context(), team, level, principal=principal, rotation=rotation, reason=reason
    )
    say(f"{team} {level} → {principal or 'rotation ' + rotation}")
