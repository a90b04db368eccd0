"""Dataset versions as other domains (model cards) read them, inside the caller's session.

No permission check: callers are services that already checked read access to the object
that names these versions (a model card checks ``model.read`` on its model).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.clock import as_utc
from andon.store import data_tables as d
from andon.store import tables as t


@dataclass(frozen=True, slots=True)
class DatasetVersionFacts:
    """One dataset version: which dataset, how many rows, which schema, when."""

    id: str
    dataset: str  # team/name
    row_count: int
    schema_hash: str
    created_at: datetime


def dataset_version_facts(session: Session, ids: Iterable[str]) -> dict[str, DatasetVersionFacts]:
    """Facts of the dataset versions among ``ids`` that the data domain knows, by id.

    Ids the data domain never recorded (a training script's own data fingerprint, say) are
    simply absent from the answer.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(
            d.DatasetVersion.id,
            t.Team.name,
            d.Dataset.name,
            d.DatasetVersion.row_count,
            d.DatasetVersion.schema_hash,
            d.DatasetVersion.created_at,
        )
        .join(d.Dataset, d.Dataset.id == d.DatasetVersion.dataset_id)
        .join(t.Team, t.Team.id == d.Dataset.team_id)
        .where(d.DatasetVersion.id.in_(wanted))
    ).all()
    return {
        vid: DatasetVersionFacts(vid, f"{team}/{name}", int(rows_), schema, as_utc(created))
        for vid, team, name, rows_, schema, created in rows
    }
