"""Registering datasets: each schema object of an active contract version is a dataset.

A dataset is an asset of its team (``kind="dataset"``), so asset-scoped role bindings apply to
it. Applying a contract (:mod:`andon.data.contract_versions`) and approving a pending version
(:mod:`andon.data.approvals`) both register the datasets the version describes, inside the
caller's transaction; the caller checked the permission.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.errors import Conflict
from andon.core.ids import new_id
from andon.store.tables import auth as t
from andon.store.tables import data as d


def register_dataset(
    session: Session, contract: d.DataContract, team: t.Team, name: str, now: datetime
) -> None:
    """Register ``team/name`` as a dataset of ``contract`` (and its asset) unless it is one.

    :class:`Conflict` when another contract already describes that dataset.
    """
    found = session.scalar(
        select(d.Dataset).where(d.Dataset.team_id == team.id, d.Dataset.name == name)
    )
    if found is not None:
        if found.contract_id != contract.id:
            other = session.get(d.DataContract, found.contract_id)
            raise Conflict(
                f"dataset '{team.name}/{name}' is described by contract "
                f"'{other.key if other else found.contract_id}'"
            )
        return
    asset = session.scalar(
        select(t.Asset).where(
            t.Asset.team_id == team.id, t.Asset.kind == "dataset", t.Asset.name == name
        )
    )
    if asset is None:
        asset = t.Asset(
            id=new_id("asset"), kind="dataset", name=name, team_id=team.id, created_at=now
        )
        session.add(asset)
        session.flush()
    session.add(
        d.Dataset(
            id=new_id("dataset"),
            team_id=team.id,
            asset_id=asset.id,
            name=name,
            contract_id=contract.id,
            created_at=now,
        )
    )
    session.flush()
