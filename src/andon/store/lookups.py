"""The stage a stage policy gives an alias, read inside the caller's session.

It lives below the domains because the registry, which sits below ``policy``, must refuse to
move such an alias without importing ``policy``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session


def stage_of_alias(session: Session, team_id: str, model_name: str, alias: str) -> str | None:
    """The stage whose alias is ``alias`` under the model's stage policy, or ``None``.

    The policy in force is the newest version of the model's own policy, else of its team's
    (as :func:`andon.policy.service.effective_policy` reads it). Such an alias moves only by
    promotion or rollback, never by a plain alias move: the registry asks here before it moves
    one.
    """
    from andon.store.tables.policy import StagePolicy

    for name in (model_name, ""):
        spec = session.scalar(
            select(StagePolicy.spec)
            .where(StagePolicy.team_id == team_id, StagePolicy.model_name == name)
            .order_by(StagePolicy.version.desc())
            .limit(1)
        )
        if spec is not None:
            for stage, body in dict(spec.get("stages", {})).items():
                if body.get("alias") == alias:
                    return str(stage)
            return None
    return None
