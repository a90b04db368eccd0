"""Dataset versions: snapshotting what a dataset's table holds, and diffing two versions.

A version's id is derived from its content (and its dataset), so snapshotting an unchanged
table stores nothing new. A snapshot compares the live columns with the active contract
version and opens a schema change when they depart from it, as a check run does
(:func:`andon.data.approvals.stage_live_change`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.canonical import digest
from andon.core.clock import Clock
from andon.core.context import Context
from andon.core.errors import NotFound
from andon.data import approvals, reach
from andon.data.connections import bind
from andon.data.contracts import Contract, parse_contract
from andon.data.queries import active_contract_version, dataset_by_name, version_record
from andon.data.records import DatasetVersionRecord, VersionDiff
from andon.data.sql_guard import SqlLimits
from andon.store.artifacts import ArtifactStore
from andon.store.tables import data as d


def _version_id(dataset_id: str, table: Any) -> str:
    # The same content in two datasets is two versions: the id covers the dataset too.
    return "dv_" + digest([dataset_id, table.version_id])[:26]


def store_version(
    session: Session, dataset_id: str, table: Any, artifact: str | None, *, by: str, clock: Clock
) -> str:
    """Insert the dataset version unless it exists (ids are content-derived); return its id.

    ``by`` names the principal recording it; ``clock`` dates a new version.
    """
    vid = _version_id(dataset_id, table)
    row = session.get(d.DatasetVersion, vid)
    if row is None:
        session.add(
            d.DatasetVersion(
                id=vid,
                dataset_id=dataset_id,
                schema_hash=table.schema_hash,
                columns=[list(c) for c in table.columns],
                row_count=table.row_count,
                fingerprints=table.fingerprints,
                location=table.location,
                artifact_digest=artifact,
                engine=table.engine,
                created_by=by,
                created_at=clock.now(),
            )
        )
        session.flush()
    elif artifact and row.artifact_digest is None:
        row.artifact_digest = artifact
    return vid


def snapshot_dataset(
    ctx: Context,
    dataset: str,
    *,
    server: str | None = None,
    materialize: bool = False,
    reason: str = "",
) -> DatasetVersionRecord:
    """Record the dataset's current version; with ``materialize`` also a Parquet copy."""
    from andon.data import compile as engine

    with ctx.db.read() as session:
        ds, team = dataset_by_name(session, dataset)
        ctx.require("dataset.snapshot", team_id=ds.team_id, asset_id=ds.asset_id)
        version = active_contract_version(session, ds.contract_id)
        contract = bind(session, parse_contract(version.content, source=f"contract of {dataset}"))
        base_dir = Path(version.base_dir)
        ds_id, ds_name, team_name = ds.id, ds.name, team.name
        reach.confine_files(session, ctx.settings, contract, base_dir, ds.team_id)
        contract_id, contract_version_id = version.contract_id, version.id
    table = engine.fingerprint_only(contract, base_dir, ds_name, server, SqlLimits.of(ctx.settings))
    declared = contract.table(ds_name)
    assert declared is not None  # fingerprint_only raised otherwise
    artifact = None
    if materialize:
        artifact = _materialize(ctx, contract, base_dir, ds_name, server)
    with ctx.db.transaction() as session:
        ctx.require("dataset.snapshot", team_id=ds.team_id, asset_id=ds.asset_id)
        before = session.get(d.DatasetVersion, _version_id(ds_id, table))
        created = before is None
        vid = store_version(session, ds_id, table, artifact, by=ctx.principal.name, clock=ctx.clock)
        row = session.get(d.DatasetVersion, vid)
        assert row is not None
        incident, resolved = approvals.stage_live_change(
            session,
            contract_id=contract_id,
            contract_version_id=contract_version_id,
            dataset_id=ds_id,
            dataset_version_id=vid,
            declared=declared,
            columns=table.columns,
            actor=ctx.principal.name,
            now=ctx.clock.now(),
            origin=f"snapshot {vid}",
        )
        entry = record_change(
            session,
            ctx,
            action="dataset.snapshot",
            object_id=vid,
            change={
                "dataset": f"{team_name}/{ds_name}",
                "row_count": table.row_count,
                "schema_hash": table.schema_hash,
                "new": created,
                "artifact": artifact,
                "schema_incident": incident.id if incident else None,
                "schema_resolved": resolved,
            },
            reason=reason,
            event="dataset.version.created" if created else None,
        )
        if incident is not None:
            approvals.emit_breaking(
                session, incident, entry, contract=contract.id, version=contract.version
            )
        record = version_record(row, ds_name, team_name, created)
        return replace(record, schema_incident=incident.id if incident else None)


def _materialize(
    ctx: Context, contract: Contract, base_dir: Path, name: str, server: str | None
) -> str:
    from andon.data.engines import open_engine

    obj = contract.table(name)
    assert obj is not None
    single = Contract(
        contract.id, contract.version, contract.status, contract.servers, (obj,), (), {}
    )
    store = ArtifactStore(ctx.settings.artifact_dir)
    limits = SqlLimits.of(ctx.settings)
    with store.scratch() as folder:  # a killed snapshot's file goes at the next write
        parquet = folder / f"{name}.parquet"
        # The engine's connection may write this one file (its sandbox is otherwise read-only).
        source = open_engine(
            single, contract.server(server), base_dir, limits=limits, output=parquet
        )
        try:
            source.write_parquet(name, parquet)
            return store.move_in(parquet).digest
        finally:
            source.close()


def diff_versions(ctx: Context, old: str, new: str) -> VersionDiff:
    """Schema changes, row-count change and changed columns between two dataset versions."""
    with ctx.db.read() as session:
        rows = []
        for vid in (old, new):
            row = session.get(d.DatasetVersion, vid)
            if row is None:
                raise NotFound(f"no dataset version '{vid}'", field="version")
            ds = session.get(d.Dataset, row.dataset_id)
            assert ds is not None
            ctx.require("dataset.read", team_id=ds.team_id, asset_id=ds.asset_id)
            rows.append(row)
        a, b = rows
        cols_a, cols_b = dict(map(tuple, a.columns)), dict(map(tuple, b.columns))
        return VersionDiff(
            a.id,
            b.id,
            [c for c in cols_b if c not in cols_a],
            [c for c in cols_a if c not in cols_b],
            [
                {"column": c, "old": cols_a[c], "new": cols_b[c]}
                for c in cols_a
                if c in cols_b and cols_a[c] != cols_b[c]
            ],
            (a.row_count, b.row_count),
            [c for c in cols_a if c in cols_b and a.fingerprints.get(c) != b.fingerprints.get(c)],
        )
