"""`andon policy|gate|approval|cord ...` and `andon model promote|rollback|promotions`.

The promotion commands join the ``model`` group of :mod:`andon.cli.registry`:
:mod:`andon.cli.main` adds them with :func:`add_model_commands`.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from andon.cli._shared import (
    Format,
    FormatOption,
    ReasonOption,
    context,
    print_json,
    print_table,
    report,
    say,
)

policy_app = typer.Typer(
    help="Stage policies: gates, approvals, rollback rules.", no_args_is_help=True
)
gate_app = typer.Typer(help="Gate decisions, explained clause by clause.", no_args_is_help=True)
approval_app = typer.Typer(help="Four-eyes approvals of promotions.", no_args_is_help=True)
cord_app = typer.Typer(
    help="The andon cord: stop a model, an endpoint, a team or the whole line.",
    no_args_is_help=True,
)

StageOption = typer.Option("production", "--stage", help="The policy stage, e.g. production.")


class GateFormat(StrEnum):
    """Output formats of `gate check`."""

    table = "table"
    json = "json"
    junit = "junit"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{...}"
    return "-" if value is None else str(value)


# --------------------------------------------------------------------------- policies


@policy_app.command("apply")
def policy_apply(
    file: Path = typer.Argument(..., help="A stage policy YAML file."),
    reason: str = ReasonOption,
) -> None:
    """Check and store a stage policy (a new version when it changed; exit 2 when invalid)."""
    import andon.serve.facts  # noqa: F401  (canary and shadow gate facts)
    from andon.core.errors import NotFound
    from andon.policy import service

    if not file.is_file():
        raise NotFound(f"no file at {file}", field="file")
    record = service.apply_policy(context(), file.read_text(encoding="utf-8"), reason=reason)
    scope = f"team {record.team}" + (f", model {record.model}" if record.model else "")
    state = "applied" if record.changed else "unchanged"
    say(
        f"policy v{record.version} of {scope} {state}: stages "
        + ", ".join(f"{name} -> {s['alias']}" for name, s in record.stages.items())
    )


@policy_app.command("show")
def policy_show(
    team: str = typer.Argument(..., help="The team."),
    model: str = typer.Option(None, "--model", help="The policy in force for this model."),
    fmt: Format = FormatOption,
) -> None:
    """The stage policy in force for a team (or one of its models)."""
    import andon.serve.facts  # noqa: F401  (canary and shadow gate facts)
    from andon.policy import service

    record = service.get_policy(context(), team, model=model)
    if fmt is Format.json:
        print_json(record.as_dict())
        return
    scope = f"team {record.team}" + (f", model {record.model}" if record.model else "")
    say(f"[bold]policy v{record.version}[/] of {scope} ({record.applied_by})")
    for name, stage in record.stages.items():
        say(f"  [bold]{name}[/] moves {stage['alias']}")
        say(f"    gate: {stage['gate']}")
        say(f"    approvals: {', '.join(stage['approvals']) or 'none'}")
        if stage["rollback"]:
            hold = stage["rollback"]["for_seconds"]
            say(f"    rollback: {stage['rollback']['when']}" + (f" for {hold}s" if hold else ""))


@policy_app.command("versions")
def policy_versions(
    team: str = typer.Argument(..., help="The team."), fmt: Format = FormatOption
) -> None:
    """Every applied version of a team's policies."""
    import andon.serve.facts  # noqa: F401  (canary and shadow gate facts)
    from andon.policy import service

    report(
        fmt,
        service.policy_versions(context(), team),
        f"policies of {team}",
        ["version", "model", "stages", "applied by", "applied at"],
        lambda r: (
            r.version,
            r.model or "(team)",
            ", ".join(r.stages),
            r.applied_by,
            r.applied_at.strftime("%Y-%m-%d %H:%M"),
        ),
    )


@policy_app.command("sample")
def policy_sample(
    team: str = typer.Option("fraud-ml", "--team", help="The team the policy is for."),
    out: Path = typer.Option(None, "--out", help="Write here instead of stdout."),
) -> None:
    """Print (or write) the sample production policy of the demo line."""
    from andon.policy.sample import sample_policy

    text = sample_policy(team)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        say(f"wrote {out}")


# --------------------------------------------------------------------------- gates


@gate_app.command("check")
def gate_check(
    ref: str = typer.Argument(..., help="NAME@VERSION"),
    stage: str = StageOption,
    fmt: GateFormat = typer.Option(GateFormat.table, "--format", "-f"),
    reason: str = ReasonOption,
) -> None:
    """Evaluate a stage's gate, store the decision, explain it; exit 4 when it fails."""
    import andon.serve.facts  # noqa: F401  (canary and shadow gate facts)
    from andon.core.errors import GateFailed
    from andon.policy import service

    decision = service.check_gate(context(), ref, stage, reason=reason)
    if fmt is GateFormat.json:
        print_json(decision.as_dict())
    elif fmt is GateFormat.junit:
        from andon.policy.report import to_junit

        sys.stdout.write(to_junit(decision.as_dict()) + "\n")
    else:
        print_table(
            f"gate {stage} for {decision.model}@{decision.version} "
            f"(policy v{decision.policy_version}, decision {decision.id})",
            ["", "clause", "values read"],
            [
                (
                    "[green]pass[/]" if c["passed"] else "[red]FAIL[/]",
                    c["clause"],
                    c["error"] or ", ".join(f"{k}={_short(v)}" for k, v in c["values"].items()),
                )
                for c in decision.clauses
            ],
        )
        say("[green]gate passed[/]" if decision.passed else "[red]gate FAILED[/]")
    if not decision.passed:
        raise GateFailed(f"gate {stage} failed for {ref}: {decision.summary()}")


# --------------------------------------------------------------------------- approvals


def _request_line(req: Any) -> str:
    missing = ", ".join(req.missing_roles) or "none"
    return (
        f"request [bold]{req.id}[/]: {req.model}@{req.version} to {req.stage}, {req.status}; "
        f"missing {missing}; expires {req.expires_at.strftime('%Y-%m-%d %H:%M')} UTC"
    )


@approval_app.command("request")
def approval_request(
    ref: str = typer.Argument(..., help="NAME@VERSION"),
    stage: str = StageOption,
    reason: str = ReasonOption,
    fmt: Format = FormatOption,
) -> None:
    """Ask for the approvals a stage requires."""
    from andon.policy import approvals

    req = approvals.request_approval(context(), ref, stage, reason=reason)
    if fmt is Format.json:
        print_json(req.as_dict())
    else:
        say(_request_line(req))


def _decide(request_id: str, decision: str, role: str, reason: str, fmt: Format) -> None:
    from andon.policy import approvals

    req = approvals.decide_approval(context(), request_id, decision, role=role, reason=reason)
    if fmt is Format.json:
        print_json(req.as_dict())
    else:
        say(_request_line(req))


RoleOption = typer.Option(..., "--as", help="The required role you fill, e.g. risk-owner.")
DecisionReason = typer.Option(..., "--reason", help="Why (required, audited).")


@approval_app.command("approve")
def approval_approve(
    request_id: str = typer.Argument(..., help="The request id (areq_...)."),
    role: str = RoleOption,
    reason: str = DecisionReason,
    fmt: Format = FormatOption,
) -> None:
    """Approve a request, filling one required role (not your own request)."""
    _decide(request_id, "approve", role, reason, fmt)


@approval_app.command("reject")
def approval_reject(
    request_id: str = typer.Argument(..., help="The request id (areq_...)."),
    role: str = RoleOption,
    reason: str = DecisionReason,
    fmt: Format = FormatOption,
) -> None:
    """Reject a request (it closes)."""
    _decide(request_id, "reject", role, reason, fmt)


@approval_app.command("list")
def approval_list(
    status: str = typer.Option(
        None, "--status", help="pending, approved, rejected, expired, used."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Approval requests you can see, newest first."""
    from andon.policy import approvals

    report(
        fmt,
        approvals.list_requests(context(), status=status),
        "approval requests",
        ["id", "model", "stage", "status", "requested by", "approved", "missing", "expires"],
        lambda r: (
            r.id,
            f"{r.model}@{r.version}",
            r.stage,
            r.status,
            r.requested_by,
            ", ".join(f"{a.role}:{a.principal}" for a in r.approvals if a.decision == "approve"),
            ", ".join(r.missing_roles),
            r.expires_at.strftime("%Y-%m-%d %H:%M"),
        ),
    )


# --------------------------------------------------------------------------- promotion


def model_promote(
    ref: str = typer.Argument(..., help="NAME@VERSION"),
    stage: str = StageOption,
    expect: int = typer.Option(
        None, "--expect", help="Fail unless the stage holds this version now.", min=1
    ),
    reason: str = ReasonOption,
    fmt: Format = FormatOption,
) -> None:
    """Promote a version to a stage: gate, approvals, data checks and cord must allow it."""
    import andon.serve.facts  # noqa: F401  (canary and shadow gate facts)
    from andon.policy import promotion

    done = promotion.promote(context(), ref, stage, reason=reason, expected_version=expect)
    if fmt is Format.json:
        print_json(done.as_dict())
        return
    was = f"{done.model}@{done.from_version}" if done.from_version is not None else "nothing"
    say(f"promoted to {done.stage}: {done.alias} {was} -> [bold]{done.model}@{done.to_version}[/]")


def model_rollback(
    name: str = typer.Argument(..., help="The model name."),
    stage: str = StageOption,
    reason: str = typer.Option(..., "--reason", help="Why (required, audited)."),
    fmt: Format = FormatOption,
) -> None:
    """Restore the version a stage held before its current one."""
    import andon.serve.facts  # noqa: F401  (canary and shadow gate facts)
    from andon.policy import promotion

    done = promotion.rollback(context(), name, stage, reason=reason)
    if fmt is Format.json:
        print_json(done.as_dict())
        return
    say(
        f"rolled back {done.stage}: {done.alias} {done.model}@{done.from_version} -> "
        f"[bold]{done.model}@{done.to_version}[/]"
    )


def model_promotions(
    name: str = typer.Argument(..., help="The model name."),
    stage: str = typer.Option(None, "--stage", help="Only this stage."),
    fmt: Format = FormatOption,
) -> None:
    """A model's promotion and rollback history, newest first."""
    import andon.serve.facts  # noqa: F401  (canary and shadow gate facts)
    from andon.policy import promotion

    report(
        fmt,
        promotion.promotions(context(), name, stage=stage),
        f"promotions of {name}",
        ["id", "stage", "kind", "from", "to", "by", "at", "reason"],
        lambda r: (
            r.id,
            r.stage,
            r.kind,
            r.from_version,
            r.to_version,
            r.promoted_by,
            r.promoted_at.strftime("%Y-%m-%d %H:%M"),
            r.reason,
        ),
    )


# --------------------------------------------------------------------------- the cord


TargetOption = typer.Argument(None, help="The model name (or use --endpoint, --team, --all).")
EndpointOption = typer.Option(None, "--endpoint", help="An endpoint's cord: its traffic stops.")
TeamOption = typer.Option(None, "--team", help="A team's cord: its models and endpoints stop.")
AllOption = typer.Option(False, "--all", help="The whole line: every team, model and endpoint.")


def _scope(name: str | None, endpoint: str | None, team: str | None, every: bool) -> str:
    from andon.core.errors import Invalid

    given = [s for s, v in (("model", name), ("endpoint", endpoint), ("team", team)) if v]
    given += ["all"] if every else []
    if len(given) != 1:
        raise Invalid("name one of: a model, --endpoint NAME, --team NAME or --all", field="scope")
    return given[0]


def _where(state: Any) -> str:
    return "the whole line" if state.scope == "all" else f"{state.scope} {state.target}"


@cord_app.command("pull")
def cord_pull(
    name: str | None = TargetOption,
    endpoint: str | None = EndpointOption,
    team: str | None = TeamOption,
    every: bool = AllOption,
    reason: str = typer.Option(..., "--reason", help="Why (required, audited)."),
) -> None:
    """Pull an andon cord: a model's promotions and serving, an endpoint's traffic, a team's
    line or the whole line stop (gateway workers refuse within a second)."""
    from andon.policy import cord
    from andon.serve import service as serve

    scope = _scope(name, endpoint, team, every)
    ctx = context()
    if scope == "model":
        state = cord.pull_cord(ctx, str(name), reason=reason)
    elif scope == "endpoint":
        state = serve.pull_endpoint_cord(ctx, str(endpoint), reason=reason)
    else:
        state = cord.pull_line_cord(ctx, team, reason=reason)
    say(f"[red]andon cord pulled[/] for {_where(state)}: {state.reason}")


@cord_app.command("release")
def cord_release(
    name: str | None = TargetOption,
    endpoint: str | None = EndpointOption,
    team: str | None = TeamOption,
    every: bool = AllOption,
    reason: str = typer.Option(..., "--reason", help="Why (required, audited)."),
) -> None:
    """Release an andon cord (releasing --all takes a second principal's release)."""
    from andon.policy import cord
    from andon.serve import service as serve

    scope = _scope(name, endpoint, team, every)
    ctx = context()
    if scope == "model":
        state = cord.release_cord(ctx, str(name), reason=reason)
    elif scope == "endpoint":
        state = serve.release_endpoint_cord(ctx, str(endpoint), reason=reason)
    else:
        state = cord.release_line_cord(ctx, team, reason=reason)
    if state.pulled:
        say(
            f"[yellow]release of {_where(state)} requested[/] by {state.release_requested_by}: "
            "a second principal's `andon cord release --all` completes it"
        )
        return
    say(f"[green]andon cord released[/] for {_where(state)}: {state.reason}")


@cord_app.command("status")
def cord_status(fmt: Format = FormatOption) -> None:
    """Every cord ever pulled (models, endpoints, teams, the whole line), pulled ones first."""
    from andon.policy import cord
    from andon.serve import service as serve

    ctx = context()
    cords = cord.cord_status(ctx) + serve.endpoint_cords(ctx)
    cords.sort(key=lambda c: (not c.pulled, c.scope, c.target))
    report(
        fmt,
        cords,
        "andon cords",
        ["scope", "target", "team", "state", "by", "at", "reason"],
        lambda c: (
            c.scope,
            c.target,
            c.team or "-",
            "[red]pulled[/]" if c.pulled else "[green]released[/]",
            c.changed_by,
            c.changed_at.strftime("%Y-%m-%d %H:%M"),
            c.reason
            + (f" (release asked by {c.release_requested_by})" if c.release_requested_by else ""),
        ),
    )


def add_model_commands(model_app: typer.Typer) -> None:
    """Add ``promote``, ``rollback`` and ``promotions`` to the ``andon model`` group."""
    model_app.command("promote")(model_promote)
    model_app.command("rollback")(model_rollback)
    model_app.command("promotions")(model_promotions)
