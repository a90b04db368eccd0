"""The data domain's public reads: datasets by name, their contracts, dataset versions.

Other domains (cards, the registry) and the data domain's own modules read datasets and
versions through these, not through the services' internals. Every function runs inside the
caller's session and checks no permission: the service calling it does, with the dataset's
team and asset (a model card checks ``model.read`` on the model naming the versions).

A dataset is named ``team/name``, or by a name unique across teams.

PII masking (:mod:`andon.data.masking`, the classifier's formats applied to free text and to
attribute JSON) is re-exported here for the telemetry intake: ``mask_text``, ``mask_json``,
``mask_attributes``, ``MaskPolicy``, ``DEFAULT_POLICY`` and ``TOKENS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.clock import as_utc
from andon.core.errors import Invalid, NotFound
from andon.data.approvals import active_version
from andon.data.contracts import Contract, parse_contract
from andon.data.masking import DEFAULT_POLICY as DEFAULT_POLICY
from andon.data.masking import TOKENS as TOKENS
from andon.data.masking import MaskPolicy as MaskPolicy
from andon.data.masking import mask_attributes as mask_attributes
from andon.data.masking import mask_json as mask_json
from andon.data.masking import mask_text as mask_text
from andon.data.records import DatasetVersionRecord
from andon.store.tables import auth as t
from andon.store.tables import data as d


def dataset_by_name(session: Session, ref: str) -> tuple[d.Dataset, t.Team]:
    """A dataset by ``team/name`` or by a name unique across teams, with its team."""
    team_name, _, name = ref.rpartition("/")
    stmt = select(d.Dataset, t.Team).join(t.Team, t.Team.id == d.Dataset.team_id)
    stmt = stmt.where(d.Dataset.name == name)
    if team_name:
        stmt = stmt.where(t.Team.name == team_name)
    rows = session.execute(stmt).all()
    if not rows:
        raise NotFound(f"no dataset '{ref}': apply a contract describing it first", field="dataset")
    if len(rows) > 1:
        teams = ", ".join(sorted(f"{tm.name}/{name}" for _, tm in rows))
        raise Invalid(
            f"'{ref}' names datasets in several teams; say which: {teams}", field="dataset"
        )
    ds, team = rows[0]
    return ds, team


def active_contract_version(session: Session, contract_id: str) -> d.DataContractVersion:
    """The active version (a pending or rejected one never is; see andon.data.approvals)."""
    row = active_version(session, contract_id)
    if row is None:  # pragma: no cover - a contract row always has a version
        raise NotFound(f"contract {contract_id} has no versions")
    return row


def latest_contract_version(session: Session, contract_id: str) -> d.DataContractVersion:
    """The most recently applied version of a contract (pending or not)."""
    row = session.scalar(
        select(d.DataContractVersion)
        .where(d.DataContractVersion.contract_id == contract_id)
        .order_by(d.DataContractVersion.applied_at.desc(), d.DataContractVersion.id.desc())
        .limit(1)
    )
    if row is None:  # pragma: no cover - a contract row always has a version
        raise NotFound(f"contract {contract_id} has no versions")
    return row


@dataclass(frozen=True)
class DatasetRef:
    """A dataset, its owning team and asset, and its contract's latest version."""

    id: str
    name: str
    team_id: str
    team: str
    asset_id: str
    contract_id: str
    contract_key: str
    version_id: str
    version: str
    base_dir: Path
    contract: Contract

    @property
    def label(self) -> str:
        """``team/name``."""
        return f"{self.team}/{self.name}"


def resolve_dataset(session: Session, ref: str) -> DatasetRef:
    """The dataset ``ref`` (``team/name`` or a unique name) with its latest contract."""
    ds, team = dataset_by_name(session, ref)
    contract_row = session.get(d.DataContract, ds.contract_id)
    assert contract_row is not None
    version = latest_contract_version(session, ds.contract_id)
    contract = parse_contract(version.content, source=f"contract of {team.name}/{ds.name}")
    return DatasetRef(
        ds.id,
        ds.name,
        team.id,
        team.name,
        ds.asset_id,
        ds.contract_id,
        contract_row.key,
        version.id,
        version.version,
        Path(version.base_dir),
        contract,
    )


def version_record(
    row: d.DatasetVersion, name: str, team: str, created: bool
) -> DatasetVersionRecord:
    """The record of the dataset version ``row`` of dataset ``name`` in ``team``."""
    return DatasetVersionRecord(
        row.id,
        name,
        team,
        row.schema_hash,
        [list(c) for c in row.columns],
        row.row_count,
        dict(row.fingerprints),
        row.location,
        row.artifact_digest,
        as_utc(row.created_at),
        created,
    )


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
