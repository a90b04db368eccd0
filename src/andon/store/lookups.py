"""Lookups every domain's services share, inside the caller's session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.errors import NotFound
from andon.store.tables import Team


def team_by_name(session: Session, name: str) -> Team:
    """The team called ``name``, or :class:`NotFound` naming the field ``team``."""
    row = session.scalar(select(Team).where(Team.name == name))
    if row is None:
        raise NotFound(f"no team named '{name}'", field="team")
    return row


def stage_of_alias(session: Session, team_id: str, model_name: str, alias: str) -> str | None:
    """The stage whose alias is ``alias`` under the model's stage policy, or ``None``.

    The policy in force is the newest version of the model's own policy, else of its team's
    (as :func:`andon.policy.service.effective_policy` reads it). Such an alias moves only by
    promotion or rollback, never by a plain alias move: the registry asks here before it moves
    one.
    """
    from andon.store.policy_tables import StagePolicy

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
