"""Check runs: running an applied contract's checks in one scan, and a dataset's run history.

The engine scan happens *between* a read that checks ``check.run`` and the write transaction
that stores the run, its results and the dataset versions it saw, so no database lock is held
while DuckDB scans, and a run that fails part-way stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.data import approvals, reach
from andon.data.connections import bind
from andon.data.contract_versions import contract_digest
from andon.data.contracts import Contract, parse_contract, read_contract_file
from andon.data.dataset_versions import store_version
from andon.data.queries import active_contract_version, dataset_by_name
from andon.data.records import HistoryRow, RunReport
from andon.data.sql_guard import SqlLimits
from andon.store.tables import data as d


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
                f"contract '{contract.id}' version {contract.version} is not applied",
                hint=f"run `andon contract apply {ref} --team TEAM` first",
            )
        if version.digest != contract_digest(contract):
            raise Conflict(
                f"{ref} differs from the applied contract '{contract.id}' version "
                f"{contract.version}: apply it under a new version"
            )
        if version.status in approvals.INACTIVE_STATUSES:
            raise Conflict(
                f"contract '{contract.id}' version {contract.version} is {version.status}, "
                "not active",
                hint=f"run the active version: `andon check run {contract.id}`",
            )
    else:
        row = session.scalar(select(d.DataContract).where(d.DataContract.key == ref))
        if row is None:
            raise NotFound(f"no contract file or applied contract named '{ref}'")
        version = active_contract_version(session, row.id)
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
            versions[name] = store_version(
                session, target.datasets[name], table, None, by=ctx.principal.name, clock=ctx.clock
            )
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


def check_history(ctx: Context, dataset: str, *, limit: int = 20) -> list[HistoryRow]:
    """The latest runs that read ``dataset``, newest first, with their failing checks."""
    if not 1 <= limit <= 1000:
        raise Invalid("must be between 1 and 1000", field="limit")
    with ctx.db.read() as session:
        ds, _ = dataset_by_name(session, dataset)
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
