"""The serve domain's lights on the board: the budgets (amber from 80 % of a window, red when
one is exhausted), and the endpoints' cords, which join the andon cords' light."""

from __future__ import annotations

from andon.core.context import Context
from andon.core.lights import Color, Light, counted, register_light
from andon.policy.cord import pulled_cords
from andon.policy.lights import cords_light_of
from andon.serve.budgets import WARN_PERCENT
from andon.serve.cords import pulled_endpoints
from andon.serve.spending import current_windows


def budgets_light(ctx: Context) -> Light:
    """Red while a budget's window is exhausted (its endpoint refuses with 429), amber from
    80 %, green otherwise."""
    with ctx.db.read() as session:
        windows = current_windows(session, ctx.clock.now())
    if not windows:
        return Light("budgets", "green", "no budget spent in this window")
    out = [w for w in windows if w.left_nanos == 0]
    near = [w for w in windows if w.left_nanos and w.percent >= WARN_PERCENT]
    worst = out or near
    if not worst:
        top = max(windows, key=lambda w: w.percent)
        return Light(
            "budgets",
            "green",
            f"{counted(len(windows), 'budget')} within limits, highest {top.percent:g} % "
            f"({top.endpoint} {top.scope} {top.key} per {top.period})",
        )
    color: Color = "red" if out else "amber"
    state = "exhausted" if out else f"at {WARN_PERCENT} % or more"
    shown = ", ".join(
        f"{w.endpoint} {w.scope} {w.key} per {w.period} {w.percent:g} %" for w in worst[:3]
    )
    more = f" and {len(worst) - 3} more" if len(worst) > 3 else ""
    return Light("budgets", color, f"{counted(len(worst), 'budget')} {state}: {shown}{more}")


def cords_light(ctx: Context) -> Light:
    """Red while any cord is pulled: a model's, a team's, the whole line's or an endpoint's
    (the gateway refuses its traffic)."""
    with ctx.db.read() as session:
        pulled = pulled_cords(session) + [
            (f"endpoint {name}", reason)
            for name, (_, _, reason) in sorted(pulled_endpoints(session).items())
        ]
    return cords_light_of(pulled)


register_light("budgets", 85, budgets_light)
# Replaces the policy domain's light of the same name (imported above, so registered first).
register_light("andon cords", 80, cords_light)
