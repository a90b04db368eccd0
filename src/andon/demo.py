"""Sample teams and principals for `make demo`: a small fraud-detection line.

Idempotent: running it twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import timedelta

from andon.auth import service as auth
from andon.core.context import Context
from andon.core.errors import Conflict

PEOPLE = [
    ("alice", "user", "Alice Martin", "ML engineer, fraud model owner"),
    ("bruno", "user", "Bruno Diaz", "data scientist"),
    ("chen", "user", "Chen Wei", "approver"),
    ("dara", "user", "Dara Okafor", "risk owner"),
    ("emil", "user", "Emil Novak", "platform / SRE"),
    ("fatou", "user", "Fatou Sow", "data steward"),
    ("ops-agent", "agent", "Operations agent", "read-only operations agent"),
    ("gita", "user", "Gita Rao", "approver of the fraud-ml line"),
    ("hugo", "user", "Hugo Lind", "risk owner of the fraud-ml line"),
]

TEAMS = [
    ("fraud-ml", "Fraud detection models and their data", ["alice"], ["alice", "bruno", "fatou"]),
    ("platform", "The andon platform and gateway", ["emil"], ["emil"]),
    ("risk", "Model risk management", ["dara"], ["dara", "chen"]),
]

BINDINGS = [
    ("alice", "contributor", "team", "fraud-ml"),
    ("bruno", "contributor", "team", "fraud-ml"),
    ("fatou", "data-steward", "team", "fraud-ml"),
    ("chen", "approver", "global", None),
    ("dara", "risk-owner", "global", None),
    ("emil", "platform-admin", "global", None),
    ("ops-agent", "agent", "global", None),
    # The fraud-ml line's own four eyes: they approve promotions of its models only.
    ("gita", "approver", "team", "fraud-ml"),
    ("hugo", "risk-owner", "team", "fraud-ml"),
]


def seed(ctx: Context) -> list[str]:
    """Create the sample principals, teams, bindings, rotations and ladders; return what was made."""
    made: list[str] = []
    existing = {p.name for p in auth.list_principals(ctx)}
    for name, kind, display, role in PEOPLE:
        if name not in existing:
            auth.create_principal(
                ctx, name, kind=kind, display_name=display, reason=f"demo: {role}"
            )
            made.append(f"principal {name}")
    teams = {team.name for team in auth.list_teams(ctx)}
    for team, description, owners, members in TEAMS:
        if team in teams:
            continue
        auth.create_team(ctx, team, description=description, owners=owners, reason="demo")
        for member in members:
            if member not in owners:
                auth.add_member(ctx, team, member, reason="demo")
        made.append(f"team {team}")
    for principal, role, scope, target in BINDINGS:
        try:
            auth.bind_role(ctx, principal, role, scope=scope, target=target, reason="demo")
            made.append(f"{role} for {principal}")
        except Conflict:
            pass
    monday = ctx.clock.now().date() - timedelta(days=ctx.clock.now().weekday())
    rotations = [
        ("fraud-ml", "primary", ["alice", "bruno"], "Europe/Paris"),
        ("platform", "sre", ["emil"], "UTC"),
        ("risk", "risk", ["dara", "chen"], "America/New_York"),
    ]
    for team, rotation, members, tz in rotations:
        if not auth.list_rotations(ctx, team):
            auth.set_rotation(
                ctx,
                team,
                rotation,
                members,
                timezone=tz,
                handoff="09:00",
                period_hours=168,
                starts_on=monday.isoformat(),
                reason="demo",
            )
            made.append(f"rotation {team}/{rotation}")
    if not auth.escalation(ctx, "fraud-ml"):
        auth.set_escalation(ctx, "fraud-ml", "model-owner", rotation="primary", reason="demo")
        auth.set_escalation(ctx, "fraud-ml", "platform-owner", principal="emil", reason="demo")
        auth.set_escalation(ctx, "fraud-ml", "risk-owner", principal="dara", reason="demo")
        made.append("escalation ladder fraud-ml")
    return made
