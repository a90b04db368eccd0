"""Finding a dataset and the contract version that describes it (for the catalog and profiles).

A dataset is named ``team/name``, or by a name unique across teams. Reads here check no
permission: the service functions calling them do, with the dataset's team and asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.errors import NotFound
from andon.data.contracts import Contract, parse_contract
from andon.data.service import _dataset
from andon.store import data_tables as d


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


def latest_version(session: Session, contract_id: str) -> d.DataContractVersion:
    """The most recently applied version of a contract."""
    row = session.scalar(
        select(d.DataContractVersion)
        .where(d.DataContractVersion.contract_id == contract_id)
        .order_by(d.DataContractVersion.applied_at.desc(), d.DataContractVersion.id.desc())
        .limit(1)
    )
    if row is None:  # pragma: no cover - a contract row always has a version
        raise NotFound(f"contract {contract_id} has no versions")
    return row


def resolve(session: Session, ref: str) -> DatasetRef:
    """The dataset ``ref`` (``team/name`` or a unique name) with its latest contract."""
    ds, team = _dataset(session, ref)
    contract_row = session.get(d.DataContract, ds.contract_id)
    assert contract_row is not None
    version = latest_version(session, ds.contract_id)
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
