"""The data domain's door: contracts, check runs, dataset versions.

Every state change checks its permission, writes its rows, then appends one audit entry (and
its outbox event) in the same transaction. Engine work (scanning tables) happens *between* a
read that checks the permission and the write transaction that stores the outcome, so no
database lock is held while DuckDB scans, and a run that fails part-way stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.chain import record_change
from andon.core.canonical import digest
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.data import approvals, reach
from andon.data.connections import bind
from andon.data.contracts import (
    FILE_SERVER_TYPES,
    Contract,
    parse_contract,
    read_contract_file,
)
from andon.data.schema_changes import breaking, live_changes
from andon.data.sql_guard import SqlLimits, vet_contract
from andon.store import data_tables as d
from andon.store import tables as t
from andon.store.artifacts import ArtifactStore
from andon.store.lookups import team_by_name as _team

# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ContractVersionRecord:
    """An applied contract version."""

    id: str
    contract: str
    version: str
    status: str
    team: str
    datasets: list[str]
    digest: str
    applied_by: str
    applied_at: datetime
    created: bool = True
    granted_root: str | None = None  # the folder this apply granted its team, if any

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "contract": self.contract,
            "version": self.version,
            "status": self.status,
            "team": self.team,
            "datasets": self.datasets,
            "digest": self.digest,
            "applied_by": self.applied_by,
            "applied_at": self.applied_at.isoformat(),
            "created": self.created,
            "granted_root": self.granted_root,
        }


@dataclass(frozen=True)
class RunReport:
    """A stored check run and its results (the documented JSON of `andon check run`)."""

    run_id: str
    contract: str
    contract_version: str
    server: str
    dataset_version: dict[str, str]
    passed: bool
    results: list[dict[str, Any]]
    queries: int
    seconds: float
    started_at: datetime

    @property
    def errors_failed(self) -> int:
        """Error-severity checks that failed or could not run."""
        return sum(1 for r in self.results if r["status"] != "pass" and r["severity"] == "error")

    @property
    def warnings_failed(self) -> int:
        """Warning-severity checks that failed."""
        return sum(1 for r in self.results if r["status"] != "pass" and r["severity"] != "error")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "contract": self.contract,
            "contract_version": self.contract_version,
            "server": self.server,
            "dataset_version": self.dataset_version,
            "passed": self.passed,
            "started_at": self.started_at.isoformat(),
            "queries": self.queries,
            "results": self.results,
        }


@dataclass(frozen=True)
class HistoryRow:
    """One run as seen from one dataset."""

    run_id: str
    started_at: datetime
    dataset_version: str
    contract_version: str
    passed: int
    failed_errors: int
    failed_warnings: int
    failing: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "dataset_version": self.dataset_version,
            "contract_version": self.contract_version,
            "passed": self.passed,
            "failed_errors": self.failed_errors,
            "failed_warnings": self.failed_warnings,
            "failing": self.failing,
        }


@dataclass(frozen=True)
class DatasetVersionRecord:
    """A dataset version: what the table held."""

    id: str
    dataset: str
    team: str
    schema_hash: str
    columns: list[list[str]]
    row_count: int
    fingerprints: dict[str, str]
    location: str
    artifact_digest: str | None
    created_at: datetime
    created: bool = True
    schema_incident: str | None = None  # a schema change this snapshot opened (it breaks)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "dataset": self.dataset,
            "team": self.team,
            "schema_hash": self.schema_hash,
            "columns": self.columns,
            "row_count": self.row_count,
            "fingerprints": self.fingerprints,
            "location": self.location,
            "artifact": f"sha256:{self.artifact_digest}" if self.artifact_digest else None,
            "created_at": self.created_at.isoformat(),
            "created": self.created,
            "schema_incident": self.schema_incident,
        }


@dataclass(frozen=True)
class VersionDiff:
    """What changed between two versions of a dataset."""

    old: str
    new: str
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: list[dict[str, str]]
    row_count: tuple[int, int]
    changed_columns: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Whether nothing at all changed."""
        return not (
            self.added_columns
            or self.removed_columns
            or self.retyped_columns
            or self.changed_columns
            or self.row_count[0] != self.row_count[1]
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "old": self.old,
            "new": self.new,
            "identical": self.identical,
            "added_columns": self.added_columns,
            "removed_columns": self.removed_columns,
            "retyped_columns": self.retyped_columns,
            "row_count": {"old": self.row_count[0], "new": self.row_count[1]},
            "changed_columns": self.changed_columns,
        }


# --------------------------------------------------------------------------- helpers


def _dataset(session: Session, ref: str) -> tuple[d.Dataset, t.Team]:
    """A dataset by ``team/name`` or by a name unique across teams."""
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


def _latest_version(session: Session, contract_id: str) -> d.DataContractVersion:
    """The active version (a pending or rejected one never is; see andon.data.approvals)."""
    row = approvals.active_version(session, contract_id)
    if row is None:  # pragma: no cover - a contract row always has a version
        raise NotFound(f"contract {contract_id} has no versions")
    return row


def _contract_digest(contract: Contract) -> str:
    return digest(contract.document)


# --------------------------------------------------------------------------- contracts


def apply_contract(
    ctx: Context, path: Path | str, team: str, *, reason: str = "", grant_folder: bool = True
) -> ContractVersionRecord:
    """Apply the contract file at ``path``; its relative server paths resolve next to it.

    This is the in-process door (the local CLI, the SDK): the machine's own user applies a
    file it can read, so with ``grant_folder`` the file's folder becomes a data root of
    ``team`` (audited, and named in the record's ``granted_root``) unless it already lies in
    one. See :func:`apply_contract_text`, which this reads the file for.
    """
    file = Path(path)
    return apply_contract_text(
        ctx,
        read_contract_file(file),
        team,
        base_dir=file.resolve().parent,
        source=str(file),
        reason=reason,
        grant_folder=grant_folder,
    )


def _base_dir(contract: Contract, base_dir: Path | str | None) -> str:
    """Where the contract's relative file-server paths resolve ("" when none needs it)."""
    relative = [
        s.name
        for s in contract.servers
        if s.type in FILE_SERVER_TYPES and not Path(s.path).expanduser().is_absolute()
    ]
    if base_dir is None:
        if relative:
            raise Invalid(
                f"server '{relative[0]}' has a relative path: give the folder it is relative "
                "to (an absolute path on the andon server)",
                field="base_dir",
            )
        return ""
    folder = Path(base_dir)
    if not folder.is_absolute():
        raise Invalid(f"{str(folder)!r} must be an absolute path", field="base_dir")
    if not folder.is_dir():
        raise Invalid(f"no folder at {folder} on the andon server", field="base_dir")
    return str(folder)


def apply_contract_text(
    ctx: Context,
    content: str,
    team: str,
    *,
    base_dir: Path | str | None = None,
    source: str = "contract",
    reason: str = "",
    grant_folder: bool = False,
) -> ContractVersionRecord:
    """Store the ODCS ``content`` as a contract version owned by ``team``; register its datasets.

    ``base_dir`` is the absolute folder that relative local server paths resolve against; it
    is required when the contract has such a path. Every file server's path must resolve
    inside a data root of ``team`` (:mod:`andon.data.roots`); ``grant_folder`` (the local
    door only, see :func:`apply_contract`) first grants ``base_dir``. ``source`` names the
    text in messages.
    Applying the same id and version again with the same content changes nothing; with
    different content it is a :class:`Conflict` (bump ``version``). A version whose schema
    change breaks (:mod:`andon.data.schema_changes`) is stored ``pending`` until a
    data-steward decides it (:mod:`andon.data.approvals`).
    """
    with ctx.db.read() as session:  # refuse before parsing: the text may be large
        ctx.require("contract.apply", team_id=_team(session, team).id)
    contract = parse_contract(content, source=source)
    vet_contract(contract)  # a sql rule is one read-only SELECT: refused here, and at run
    content_digest = _contract_digest(contract)
    with ctx.db.transaction() as session:
        team_row = _team(session, team)
        ctx.require("contract.apply", team_id=team_row.id)
        bind(session, contract)  # a host, port or database no connection allows is refused
        folder = _base_dir(contract, base_dir)  # after the check: it looks at the file system
        granted = None
        if grant_folder and base_dir is not None and reach.server_paths(contract, base_dir):
            granted = reach.grant_folder(
                session, ctx, team_row, Path(base_dir), reason=f"applied {source} locally"
            )
        reach.confine_contract(
            contract,
            folder or "/",
            reach.team_roots(session, ctx.settings, team_row.id),
            team=team_row.name,
        )
        now = ctx.clock.now()
        row = session.scalar(select(d.DataContract).where(d.DataContract.key == contract.id))
        if row is None:
            row = d.DataContract(
                id=new_id("contract"), key=contract.id, team_id=team_row.id, created_at=now
            )
            session.add(row)
            session.flush()
        elif row.team_id != team_row.id:
            owner = session.get(t.Team, row.team_id)
            raise Conflict(
                f"contract '{contract.id}' is owned by team '{owner.name if owner else row.team_id}'"
            )
        names = [obj.name for obj in contract.schema]
        existing = session.scalar(
            select(d.DataContractVersion).where(
                d.DataContractVersion.contract_id == row.id,
                d.DataContractVersion.version == contract.version,
            )
        )
        if existing is not None:
            if existing.digest != content_digest:
                raise Conflict(
                    f"contract '{contract.id}' version {contract.version} was applied with "
                    "different content: give the change a new version"
                )
            return ContractVersionRecord(
                existing.id,
                contract.id,
                existing.version,
                existing.status,
                team,
                names,
                existing.digest,
                existing.applied_by,
                as_utc(existing.applied_at),
                created=False,
                granted_root=granted.path if granted else None,
            )
        approvals.refuse_while_pending(session, row)
        base = approvals.active_version(session, row.id)
        changes = approvals.changes_since(base, contract)
        version = d.DataContractVersion(
            id=new_id("contract_version"),
            contract_id=row.id,
            version=contract.version,
            status=approvals.PENDING if breaking(changes) else contract.status,
            content=content,
            digest=content_digest,
            base_dir=folder,
            applied_by=ctx.principal.name,
            applied_at=now,
        )
        session.add(version)
        session.flush()
        if version.status != approvals.PENDING:
            for name in names:
                _register_dataset(session, row, team_row, name, now)
        staged = approvals.stage_contract_change(
            session, contract=row, version=version, base=base, changes=changes, now=now
        )
        entry = record_change(
            session,
            ctx,
            action="contract.apply",
            object_id=version.id,
            change={
                "contract": contract.id,
                "version": contract.version,
                "team": team,
                "digest": content_digest,
                "datasets": names,
                "status": version.status,
                "breaking": [c.as_dict() for c in breaking(changes)],
            },
            reason=reason,
            event="contract.applied",
        )
        if staged is not None and staged.breaking:
            approvals.emit_breaking(
                session, staged, entry, contract=contract.id, version=contract.version
            )
        return ContractVersionRecord(
            version.id,
            contract.id,
            version.version,
            version.status,
            team,
            names,
            content_digest,
            version.applied_by,
            now,
            granted_root=granted.path if granted else None,
        )


def _register_dataset(
    session: Session, contract: d.DataContract, team: t.Team, name: str, now: datetime
) -> None:
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


def list_contracts(ctx: Context) -> list[ContractVersionRecord]:
    """The latest version of every contract the principal may read."""
    with ctx.db.read() as session:
        ctx.require_somewhere("contract.read")
        out = []
        rows = session.execute(
            select(d.DataContract, t.Team.name)
            .join(t.Team, t.Team.id == d.DataContract.team_id)
            .order_by(d.DataContract.key)
        ).all()
        for row, team_name in rows:
            if not ctx.can("contract.read", team_id=row.team_id):
                continue
            v = _latest_version(session, row.id)
            names = list(
                session.scalars(
                    select(d.Dataset.name)
                    .where(d.Dataset.contract_id == row.id)
                    .order_by(d.Dataset.name)
                )
            )
            out.append(
                ContractVersionRecord(
                    v.id,
                    row.key,
                    v.version,
                    v.status,
                    team_name,
                    names,
                    v.digest,
                    v.applied_by,
                    as_utc(v.applied_at),
                    created=False,
                )
            )
        return out


# --------------------------------------------------------------------------- check runs


@dataclass(frozen=True)
class _Target:
    contract: Contract
    version_id: str
    version: str
    team_id: str
    base_dir: Path
    datasets: dict[str, str]  # schema object name -> dataset id


def _resolve(session: Session, ref: str, *, id_only: bool = False) -> _Target:
    """A contract version from a file path (it must be applied) or a contract id."""
    file = Path(ref)
    if not id_only and (file.suffix in (".yaml", ".yml") or file.exists()):
        contract = parse_contract(read_contract_file(file), source=ref)
        row = session.scalar(select(d.DataContract).where(d.DataContract.key == contract.id))
        version = None
        if row is not None:
            version = session.scalar(
                select(d.DataContractVersion).where(
                    d.DataContractVersion.contract_id == row.id,
                    d.DataContractVersion.version == contract.version,
                )
            )
        if row is None or version is None:
            raise NotFound(
                f"contract '{contract.id}' version {contract.version} is not applied: "
                f"run `andon contract apply {ref} --team TEAM` first"
            )
        if version.digest != _contract_digest(contract):
            raise Conflict(
                f"{ref} differs from the applied contract '{contract.id}' version "
                f"{contract.version}: apply it under a new version"
            )
        if version.status in approvals.INACTIVE_STATUSES:
            raise Conflict(
                f"contract '{contract.id}' version {contract.version} is {version.status}, "
                f"not active: run the active version (andon check run {contract.id})"
            )
    else:
        row = session.scalar(select(d.DataContract).where(d.DataContract.key == ref))
        if row is None:
            raise NotFound(f"no contract file or applied contract named '{ref}'")
        version = _latest_version(session, row.id)
        contract = parse_contract(version.content, source=f"contract '{ref}'")
    datasets = {
        ds.name: ds.id
        for ds in session.scalars(select(d.Dataset).where(d.Dataset.contract_id == row.id))
    }
    return _Target(
        bind(session, contract),
        version.id,
        version.version,
        row.team_id,
        Path(version.base_dir),
        datasets,
    )


def run_checks(
    ctx: Context,
    contract: str,
    *,
    server: str | None = None,
    reason: str = "",
    id_only: bool = False,
) -> RunReport:
    """Run an applied contract's checks, store the run with its results, and return it.

    ``contract`` is a contract id or the path of an applied contract file; with ``id_only``
    it is always an id (a remote caller never names a file on the server).
    A failing check is a result, not an error: the run is stored and ``passed`` is false. An
    error (missing file, bad column, malformed SQL) raises before anything is stored.
    """
    from andon.data import compile as engine

    with ctx.db.read() as session:
        target = _resolve(session, contract, id_only=id_only)
        ctx.require("check.run", team_id=target.team_id)
        reach.confine_files(session, ctx.settings, target.contract, target.base_dir, target.team_id)
    started = ctx.clock.now()
    scan = engine.run(
        target.contract,
        target.base_dir,
        now=started,
        server=server,
        limits=SqlLimits.of(ctx.settings),
    )
    results = [r.as_dict() for r in scan.results]
    passed = not any(r["status"] != "pass" and r["severity"] == "error" for r in results)
    with ctx.db.transaction() as session:
        ctx.require("check.run", team_id=target.team_id)
        versions = {}
        for name, table in scan.tables.items():
            versions[name] = _store_version(session, ctx, target.datasets[name], table, None)
        run = d.CheckRun(
            id=new_id("check_run"),
            contract_version_id=target.version_id,
            server=scan.server.name,
            passed=passed,
            errors_failed=0,
            warnings_failed=0,
            queries=scan.queries,
            seconds=round(scan.seconds, 4),
            run_by=ctx.principal.name,
            started_at=started,
        )
        report = RunReport(
            run.id,
            target.contract.id,
            target.version,
            scan.server.name,
            versions,
            passed,
            results,
            scan.queries,
            scan.seconds,
            started,
        )
        run.errors_failed, run.warnings_failed = report.errors_failed, report.warnings_failed
        session.add(run)
        session.flush()
        for name, version_id in versions.items():
            session.add(
                d.CheckRunDataset(
                    run_id=run.id,
                    dataset_id=target.datasets[name],
                    dataset_version_id=version_id,
                )
            )
        for i, r in enumerate(results):
            session.add(
                d.CheckResult(
                    run_id=run.id,
                    position=i,
                    dataset_id=target.datasets[r["dataset"]],
                    check=r["check"],
                    column=r["column"],
                    kind=r["kind"],
                    status=r["status"],
                    severity=r["severity"],
                    observed=r["observed"],
                    threshold=r["threshold"],
                    failed_rows=r["failed_rows"],
                    samples=r["samples"],
                    message=r["message"],
                )
            )
        failing = [r["check"] for r in results if r["status"] != "pass"]
        record_change(
            session,
            ctx,
            action="check.run",
            object_id=run.id,
            change={
                "contract": target.contract.id,
                "version": target.version,
                "passed": passed,
                "dataset_versions": versions,
                "failing": failing,
            },
            reason=reason,
            event="check.passed" if passed else "check.failed",
        )
        return report


def _version_id(dataset_id: str, table: Any) -> str:
    # The same content in two datasets is two versions: the id covers the dataset too.
    return "dv_" + digest([dataset_id, table.version_id])[:26]


def _store_version(
    session: Session, ctx: Context, dataset_id: str, table: Any, artifact: str | None
) -> str:
    """Insert the dataset version unless it exists (ids are content-derived); return its id."""
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
                created_by=ctx.principal.name,
                created_at=ctx.clock.now(),
            )
        )
        session.flush()
    elif artifact and row.artifact_digest is None:
        row.artifact_digest = artifact
    return vid


def check_history(ctx: Context, dataset: str, *, limit: int = 20) -> list[HistoryRow]:
    """The latest runs that read ``dataset``, newest first, with their failing checks."""
    if not 1 <= limit <= 1000:
        raise Invalid("must be between 1 and 1000", field="limit")
    with ctx.db.read() as session:
        ds, _ = _dataset(session, dataset)
        ctx.require("dataset.read", team_id=ds.team_id, asset_id=ds.asset_id)
        rows = session.execute(
            select(d.CheckRun, d.CheckRunDataset.dataset_version_id, d.DataContractVersion.version)
            .join(d.CheckRunDataset, d.CheckRunDataset.run_id == d.CheckRun.id)
            .join(d.DataContractVersion, d.DataContractVersion.id == d.CheckRun.contract_version_id)
            .where(d.CheckRunDataset.dataset_id == ds.id)
            .order_by(d.CheckRun.started_at.desc(), d.CheckRun.id.desc())
            .limit(limit)
        ).all()
        out = []
        for run, version_id, contract_version in rows:
            results = session.execute(
                select(d.CheckResult.check, d.CheckResult.status, d.CheckResult.severity).where(
                    d.CheckResult.run_id == run.id, d.CheckResult.dataset_id == ds.id
                )
            ).all()
            bad = [(c, sev) for c, status, sev in results if status != "pass"]
            out.append(
                HistoryRow(
                    run.id,
                    as_utc(run.started_at),
                    version_id,
                    contract_version,
                    len(results) - len(bad),
                    sum(1 for _, s in bad if s == "error"),
                    sum(1 for _, s in bad if s != "error"),
                    [c for c, _ in bad],
                )
            )
        return out


# --------------------------------------------------------------------------- versions


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
        ds, team = _dataset(session, dataset)
        ctx.require("dataset.snapshot", team_id=ds.team_id, asset_id=ds.asset_id)
        version = _latest_version(session, ds.contract_id)
        contract = bind(session, parse_contract(version.content, source=f"contract of {dataset}"))
        base_dir = Path(version.base_dir)
        ds_id, ds_name, team_name = ds.id, ds.name, team.name
        reach.confine_files(session, ctx.settings, contract, base_dir, ds.team_id)
        contract_id, contract_version_id = version.contract_id, version.id
    table = engine.fingerprint_only(contract, base_dir, ds_name, server, SqlLimits.of(ctx.settings))
    declared = contract.table(ds_name)
    assert declared is not None  # fingerprint_only raised otherwise
    departures = live_changes(declared, table.columns)
    artifact = None
    if materialize:
        artifact = _materialize(ctx, contract, base_dir, ds_name, server)
    with ctx.db.transaction() as session:
        ctx.require("dataset.snapshot", team_id=ds.team_id, asset_id=ds.asset_id)
        before = session.get(d.DatasetVersion, _version_id(ds_id, table))
        created = before is None
        vid = _store_version(session, ctx, ds_id, table, artifact)
        row = session.get(d.DatasetVersion, vid)
        assert row is not None
        incident, resolved = approvals.stage_live_change(
            session,
            contract_id=contract_id,
            contract_version_id=contract_version_id,
            dataset_id=ds_id,
            dataset_version_id=vid,
            changes=departures,
            actor=ctx.principal.name,
            now=ctx.clock.now(),
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
        record = _version_record(row, ds_name, team_name, created)
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


def _version_record(
    row: d.DatasetVersion, name: str, team: str, created: bool
) -> DatasetVersionRecord:
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
