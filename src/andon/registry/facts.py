"""Registry facts for other domains (model cards), read inside the caller's session.

No permission checks here: the caller resolves the version, checks ``model.read`` on the
model (:attr:`VersionFacts.team_id`, :attr:`VersionFacts.asset_id`) and only then reads on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.errors import NotFound
from andon.core.ids import PREFIXES
from andon.registry.queries import (
    aliases_by_model,
    model_by_ref,
    parse_ref,
    team_names,
    version_by_ref,
    version_record,
)
from andon.registry.records import RunRecord, VersionRecord
from andon.registry.tracking import run_record
from andon.store.tables import registry as r

_VERSION_ID = PREFIXES["model_version"] + "_"


@dataclass(frozen=True, slots=True)
class VersionFacts:
    """A resolved model version with what a permission check needs."""

    record: VersionRecord
    model_id: str
    team_id: str
    asset_id: str


def resolve_version(session: Session, ref: str) -> VersionFacts:
    """The version ``ref`` names: ``[team/]name[@version|@alias]`` or a model version id."""
    text = ref.strip()
    if text.startswith(_VERSION_ID) and "@" not in text:
        row = session.get(r.ModelVersion, text)
        if row is None:
            raise NotFound(f"no model version '{text}'", field="model")
        model = session.get(r.Model, row.model_id)
        assert model is not None  # a foreign key
    else:
        model = model_by_ref(session, parse_ref(text))
        row = version_by_ref(session, model, parse_ref(text))
    team = team_names(session, [model.team_id])[model.team_id]
    aliases = aliases_by_model(session, [model.id]).get(model.id, {})
    return VersionFacts(
        version_record(row, model, team, aliases), model.id, model.team_id, model.asset_id
    )


def run_of(session: Session, run_id: str) -> RunRecord | None:
    """The run with its params, latest metrics, artifacts and datasets; None if unknown."""
    if session.get(r.Run, run_id) is None:
        return None
    return run_record(session, run_id)


def version_refs(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """``name@version`` of each model version id among ``ids`` the registry knows."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(r.ModelVersion.id, r.Model.name, r.ModelVersion.version)
        .join(r.Model, r.Model.id == r.ModelVersion.model_id)
        .where(r.ModelVersion.id.in_(wanted))
    )
    return {vid: f"{name}@{number}" for vid, name, number in rows}


def run_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """The name of each run id among ``ids`` the registry knows."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(r.Run.id, r.Run.name).where(r.Run.id.in_(wanted)))
    return {rid: name for rid, name in rows}
