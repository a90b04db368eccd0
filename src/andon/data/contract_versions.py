"""Contract versions: applying an ODCS contract, listing the latest version of each.

Applying checks ``contract.apply`` on the team, stores the version, registers its datasets
(:mod:`andon.data.datasets`) and appends one audit entry (and its outbox event) in the same
transaction. A version whose schema change breaks waits ``pending`` for a data-steward
(:mod:`andon.data.approvals`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from andon.audit.service import record_change
from andon.auth.queries import team_by_name
from andon.core.canonical import digest
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.data import approvals, reach
from andon.data.connections import bind
from andon.data.contracts import Contract, parse_contract, read_contract_file
from andon.data.datasets import register_dataset
from andon.data.dialect import upgrade
from andon.data.queries import active_contract_version
from andon.data.records import ContractDocument, ContractVersionRecord
from andon.data.schema_changes import breaking
from andon.data.sql_guard import vet_contract
from andon.store.tables import auth as t
from andon.store.tables import data as d


def contract_digest(contract: Contract) -> str:
    """The digest of a contract's canonical document (what "the same content" means)."""
    return digest(contract.document)


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
        if s.is_file and not Path(s.path).expanduser().is_absolute()
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
        ctx.require("contract.apply", team_id=team_by_name(session, team).id)
    contract = parse_contract(content, source=source)
    vet_contract(contract)  # a sql rule is one read-only SELECT: refused here, and at run
    content_digest = contract_digest(contract)
    with ctx.db.transaction() as session:
        team_row = team_by_name(session, team)
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
                register_dataset(session, row, team_row, name, now)
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
            v = active_contract_version(session, row.id)
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


def show_contract(ctx: Context, ref: str) -> ContractDocument:
    """The document of contract ``ref`` (``ID`` for its active version, or ``ID@VERSION``) in
    the standard's shape: a version applied in andon's old dialect comes back upgraded, with
    the changes listed, so what is shown is always valid ODCS."""
    key, sep, wanted = ref.rpartition("@") if "@" in ref else (ref, "", "")
    with ctx.db.read() as session:
        row = session.scalar(select(d.DataContract).where(d.DataContract.key == key))
        if row is None:
            raise NotFound(f"no applied contract '{key}'", field="contract")
        ctx.require("contract.read", team_id=row.team_id)
        if sep:
            version = session.scalar(
                select(d.DataContractVersion).where(
                    d.DataContractVersion.contract_id == row.id,
                    d.DataContractVersion.version == wanted,
                )
            )
            if version is None:
                raise NotFound(f"contract '{key}' has no version {wanted}", field="contract")
        else:
            version = active_contract_version(session, row.id)
        team = session.get(t.Team, row.team_id)
        assert team is not None  # a contract row always has its team
        contract = parse_contract(version.content, source=f"contract '{key}' {version.version}")
        document, upgraded = upgrade(contract.document)
        return ContractDocument(key, version.version, version.status, team.name, document, upgraded)
