"""Reading dataset versions back: the latest version of a dataset, and a version's rows.

A dataset version snapshotted with ``materialize`` has a Parquet copy in the artifact store;
:func:`read_version` returns the columns asked for as a ``pyarrow.Table``, after the artifact
store has hashed the bytes again (a tampered copy raises
:class:`~andon.core.errors.TamperedArtifact`). Both reads need ``dataset.read`` on the
dataset's asset.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.context import Context
from andon.core.errors import Invalid, NotFound
from andon.data.queries import dataset_by_name, version_record
from andon.data.records import DatasetVersionRecord
from andon.store.artifacts import ArtifactStore
from andon.store.tables import auth as t
from andon.store.tables import data as d

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]


def _dataset(session: Session, ref: str) -> tuple[d.Dataset, str]:
    """A dataset by ``team/name`` (or a name unique across teams) and its team's name."""
    ds, team = dataset_by_name(session, ref)
    return ds, team.name


def _record(row: d.DatasetVersion, name: str, team: str) -> DatasetVersionRecord:
    return version_record(row, name, team, created=False)


def latest_version(ctx: Context, dataset: str) -> DatasetVersionRecord:
    """The newest version of ``dataset`` (``team/name``); NotFound if it has none yet."""
    with ctx.db.read() as session:
        ds, team = _dataset(session, dataset)
        ctx.require("dataset.read", team_id=ds.team_id, asset_id=ds.asset_id)
        row = session.scalar(
            select(d.DatasetVersion)
            .where(d.DatasetVersion.dataset_id == ds.id)
            .order_by(d.DatasetVersion.created_at.desc(), d.DatasetVersion.id.desc())
            .limit(1)
        )
        if row is None:
            raise NotFound(
                f"dataset '{team}/{ds.name}' has no versions",
                field="dataset",
                hint=f"run `andon data snapshot {team}/{ds.name} --materialize`",
            )
        return _record(row, ds.name, team)


def get_version(ctx: Context, version_id: str) -> DatasetVersionRecord:
    """One dataset version by id."""
    with ctx.db.read() as session:
        row = session.get(d.DatasetVersion, version_id)
        if row is None:
            raise NotFound(f"no dataset version '{version_id}'", field="dataset_version")
        ds = session.get(d.Dataset, row.dataset_id)
        assert ds is not None
        ctx.require("dataset.read", team_id=ds.team_id, asset_id=ds.asset_id)
        team = session.get(t.Team, ds.team_id)
        return _record(row, ds.name, team.name if team else ds.team_id)


def read_version(ctx: Context, version_id: str, columns: Sequence[str]) -> pa.Table:
    """The ``columns`` of a materialized dataset version, digest verified.

    Invalid names every column the version lacks, or says how to materialize a version that
    has no Parquet copy.
    """
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    version = get_version(ctx, version_id)
    have = [str(c[0]) for c in version.columns]
    missing = [c for c in columns if c not in have]
    if missing:
        raise Invalid(
            f"dataset version {version.id} of {version.team}/{version.dataset} has no "
            f"{'column' if len(missing) == 1 else 'columns'} "
            f"{', '.join(repr(c) for c in missing)} (it has {', '.join(have)})",
            field="columns",
            missing=missing,
        )
    if version.artifact_digest is None:
        raise Invalid(
            f"dataset version {version.id} has no Parquet copy",
            field="dataset_version",
            hint=f"run `andon data snapshot {version.team}/{version.dataset} --materialize`",
        )
    data = ArtifactStore(ctx.settings.artifact_dir).read_bytes(version.artifact_digest)
    return pq.read_table(io.BytesIO(data), columns=list(columns))
