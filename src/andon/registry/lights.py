"""The model registry's light on the andon board."""

from __future__ import annotations

from sqlalchemy import func, select

from andon.core.context import Context
from andon.core.lights import Color, Light, counted, register_light
from andon.store.tables import registry as r


def registry_light(ctx: Context) -> Light:
    """Green when every model has a champion (or there are none yet), amber otherwise."""
    with ctx.db.read() as session:
        models = session.scalar(select(func.count()).select_from(r.Model)) or 0
        champions = (
            session.scalar(
                select(func.count())
                .select_from(r.ModelAlias)
                .where(r.ModelAlias.alias == "champion")
            )
            or 0
        )
    if models == 0:
        return Light("model registry", "green", "no models registered yet")
    color: Color = "green" if champions == models else "amber"
    return Light(
        "model registry", color, f"{counted(models, 'model')}, {champions} with a champion"
    )


register_light("model registry", 60, registry_light)
