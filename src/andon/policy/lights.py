"""The andon cords' light on the board."""

from __future__ import annotations

from andon.core.context import Context
from andon.core.lights import Light, counted, register_light
from andon.policy.cord import pulled_cords


def cords_light(ctx: Context) -> Light:
    """Red while any model's andon cord is pulled (its promotions are stopped)."""
    with ctx.db.read() as session:
        pulled = pulled_cords(session)
    if not pulled:
        return Light("andon cords", "green", "no cord pulled")
    shown = ", ".join(f"{name} ({reason})" for name, reason in pulled[:3])
    more = f" and {len(pulled) - 3} more" if len(pulled) > 3 else ""
    return Light("andon cords", "red", f"{counted(len(pulled), 'cord')} pulled: {shown}{more}")


register_light("andon cords", 80, cords_light)
