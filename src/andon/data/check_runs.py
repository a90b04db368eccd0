"""Check runs: running an applied contract's checks in one scan, and a dataset's run history.

The engine scan happens *between* a read that checks ``check.run`` and the write transaction
that stores the run, its results and the dataset versions it saw, so no database lock is held
while DuckDB scans, and a run that fails part-way stores nothing. The same transaction
compares each table's live columns with the active contract, opening or resolving schema
incidents exactly as a snapshot does (:func:`andon.data.approvals.stage_live_change`).
A contract file not applied yet is applied first (:mod:`andon.data.first_run`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.auth.queries import team_by_name
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.data import approvals, first_run, reach
from andon.data.connections import bind
from andon.data.contract_versions import contract_digest
from andon.data.contracts import Contract, parse_contract, read_contract_file
from andon.data.dataset_versions import store_version
from andon.data.queries import active_contract_version, dataset_by_name
from andon.data.records import FAILING, FirstApply, HistoryRow, RunReport
from andon.data.sql_guard import SqlLimits
from andon.store.tables import auth as t
from andon.store.tables import data as d
from andon.store.tables import schema_changes as s


@dataclass(frozen=True)
class _Target:
    contract: Contract
    contract_id: str  # the DataContract row's
    version_id: str
    version: str
    team_id: str
    base_dir: Path
    datasets: dict[str, str]  # schema object name -> dataset id
    active: bool  # whether this is the contract's active version


def _parse_file(ref: str, id_only: bool) -> Contract | None:
    """The contract file ``ref`` parsed, or None when ``ref`` names an applied id."""
    file = Path(ref)
    if not id_only and (file.suffix in (".yaml", ".yml") or file.exists()):
        return parse_contract(read_contract_file(file), source=ref)
    return None


def _resolve(
    session: Session, ref: str, parsed: Contract | None, team: str | None
) -> _Target | None:
    """The contract version to run: the file's (None when not applied) or an id's active one."""
    if parsed is not None:
        contract = parsed
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
            return None
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
        active = active_contract_version(session, row.id).id == version.id
    else:
        row = session.scalar(select(d.DataContract).where(d.DataContract.key == ref))
        if row is None:
            raise NotFound(f"no contract file or applied contract named '{ref}'")
        version = active_contract_version(session, row.id)
        contract = parse_contract(version.content, source=f"contract '{ref}'")
        active = True
    if team is not None and team_by_name(session, team).id != row.team_id:
        owner = session.get(t.Team, row.team_id)
        raise Conflict(
            f"contract '{contract.id}' is owned by team '{owner.name if owner else row.team_id}'"
            f", not '{team}'",
            field="team",
        )
    datasets = {
        ds.name: ds.id
        for ds in session.scalars(select(d.Dataset).where(d.Dataset.contract_id == row.id))
    }
    return _Target(
        bind(session, contract),
        row.id,
        version.id,
        version.version,
        row.team_id,
        Path(version.base_dir),
        datasets,
        active,
    )


def run_checks(
    ctx: Context,
    contract: str,
    *,
    server: str | None = None,
    reason: str = "",
    id_only: bool = False,
    team: str | None = None,
    on_apply: Callable[[FirstApply], None] | None = None,
    strict: bool = False,
) -> RunReport:
    """Run an applied contract's checks, store the run with its results, and return it.

    ``contract`` is a contract id or the path of a contract file; with ``id_only`` it is
    always an id (a remote caller never names a file on the server). A file whose id and
    version are not applied is applied first, to ``team`` or the caller's default team
    (:mod:`andon.data.first_run`: the permission check, audit entry and event of
    ``contract.apply``), and ``on_apply`` hears of it as soon as that is stored. With
    ``strict`` a ``not_checked`` result (something the contract declares that andon cannot
    check) fails the run too. ``team``
    given with a contract another team owns is a :class:`Conflict`.
    A failing check is a result, not an error: the run is stored and ``passed`` is false. An
    error (missing file, bad column, malformed SQL) raises before anything is stored.
    Every table scanned is compared with the active contract, as ``data snapshot`` does: a
    breaking departure opens a schema incident (``schema_incidents``), a conforming table
    resolves its open ones.
    """
    from andon.data import compile as engine

    parsed = _parse_file(contract, id_only)
    applied = None
    with ctx.db.read() as session:
        target = _resolve(session, contract, parsed, team)
    if target is None:
        assert parsed is not None  # only a file can be unapplied
        applied = first_run.apply_first(ctx, Path(contract), parsed, team, reason=reason)
        if on_apply is not None:
            on_apply(applied)
    with ctx.db.read() as session:
        target = target or _resolve(session, contract, parsed, team)
        if target is None:  # pragma: no cover - removed between the apply and this read
            raise NotFound(f"contract '{contract}' is not applied")
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
    unchecked = any(r["status"] == "not_checked" for r in results)
    passed = not (strict and unchecked) and not any(
        r["status"] in FAILING and r["severity"] == "error" for r in results
    )
    run_id = new_id("check_run")
    with ctx.db.transaction() as session:
        ctx.require("check.run", team_id=target.team_id)
        versions = {}
        incidents: dict[str, s.SchemaChange | None] = {}
        resolved: dict[str, list[str]] = {}
        for name, table in scan.tables.items():
            vid = store_version(
                session, target.datasets[name], table, None, by=ctx.principal.name, clock=ctx.clock
            )
            versions[name] = vid
            declared = target.contract.table(name)
            if target.active and declared is not None:  # an older version's run says nothing
                incidents[name], resolved[name] = approvals.stage_live_change(
                    session,
                    contract_id=target.contract_id,
                    contract_version_id=target.version_id,
                    dataset_id=target.datasets[name],
                    dataset_version_id=vid,
                    declared=declared,
                    columns=table.columns,
                    actor=ctx.principal.name,
                    now=ctx.clock.now(),
                    origin=f"check run {run_id} of {vid}",
                )
        opened = {name: row.id for name, row in incidents.items() if row is not None}
        run = d.CheckRun(
            id=run_id,
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
            schema_incidents=opened,
            applied=applied,
            strict=strict and unchecked,
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
                    dataset_id=target.datasets[r["dataset"]] if r["dataset"] else None,
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
        failing = [r["check"] for r in results if r["status"] in FAILING]
        entry = record_change(
            session,
            ctx,
            action="check.run",
            object_id=run.id,
            change={
                "contract": target.contract.id,
                "version": target.version,
                "passed": passed,
                "strict": strict,
                "not_checked": report.not_checked,
                "dataset_versions": versions,
                "failing": failing,
                "schema_incident": {n: row.id if row else None for n, row in incidents.items()},
                "schema_resolved": resolved,
            },
            reason=reason,
            event="check.passed" if passed else "check.failed",
        )
        for row in incidents.values():
            if row is not None:
                approvals.emit_breaking(
                    session, row, entry, contract=target.contract.id, version=target.version
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
            bad = [(c, sev) for c, status, sev in results if status in FAILING]
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
