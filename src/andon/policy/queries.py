"""The policy domain's public reads for other domains (the gateway's deployments)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.store.tables import policy as p


def moves_to(session: Session, model_id: str, alias: str, version: int) -> list[str]:
    """Ids of the promotions and rollbacks that moved the model's ``alias`` to ``version``,
    newest first."""
    return list(
        session.scalars(
            select(p.Promotion.id)
            .where(
                p.Promotion.model_id == model_id,
                p.Promotion.alias == alias,
                p.Promotion.to_version == version,
            )
            .order_by(p.Promotion.promoted_at.desc(), p.Promotion.id.desc())
        )
    )
