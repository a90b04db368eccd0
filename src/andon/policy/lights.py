"""The andon cords' light on the board."""

from __future__ import annotations

from andon.core.context import Context
from andon.core.lights import Light, counted, register_light
from andon.policy.cord import pulled_cords


def cords_light_of(pulled: list[tuple[str, str]]) -> Light:
    """The light of the pulled cords ``(what, reason)``: red while there is any."""
    if not pulled:
        return Light("andon cords", "green", "no cord pulled")
    shown = ", ".join(f"{name} ({reason})" for name, reason in pulled[:3])
    more = f" and {len(pulled) - 3} more" if len(pulled) > 3 else ""
    return Light("andon cords", "red", f"{counted(len(pulled), 'cord')} pulled: {shown}{more}")


def cords_light(ctx: Context) -> Light:
    """Red while any model's, team's or the whole line's andon cord is pulled (its promotions
    are stopped); :mod:`andon.serve.lights` adds the endpoints' cords to the same light."""
    with ctx.db.read() as session:
        return cords_light_of(pulled_cords(session))


register_light("andon cords", 80, cords_light)
