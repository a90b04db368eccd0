"""Schema changes as incidents, and a data-steward's decision on them.

:func:`andon.data.service.apply_contract` compares a new contract version with the active
one (:mod:`andon.data.schema_changes` holds the rules). A breaking change leaves the new
version ``pending``: the active version stays the one ``check run`` and ``data snapshot``
use, a ``schema.breaking`` event goes to the outbox, and the board shows red until a
data-steward approves (the version becomes active) or rejects it (it never does). Four eyes:
whoever applied the version cannot decide it. While a version is pending, the contract takes
no other new version: decide first, so versions activate in the order they were applied.

:func:`andon.data.service.snapshot_dataset` and :func:`andon.data.service.run_checks`
compare the live columns of each table they record with the active contract
(:func:`stage_live_change`); a breaking difference opens an incident (``source``
``snapshot``: a live table's recorded version, whichever command recorded it; event
``schema.breaking`` too), which the next snapshot or check run that conforms again resolves.

The session-level helpers (``stage_*``, ``emit_breaking``) run inside the caller's
transaction; the Context-taking functions are operations of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.audit.service import Entry, record_change
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound
from andon.core.ids import new_id
from andon.data.contracts import Contract, SchemaObject, parse_contract
from andon.data.datasets import register_dataset
from andon.data.schema_changes import Change, breaking, contract_changes, live_changes
from andon.store import outbox
from andon.store.tables import auth as t
from andon.store.tables import data as d
from andon.store.tables import schema_changes as s

PENDING = "pending"
INACTIVE_STATUSES = ("pending", "rejected")
"""Version statuses that are never the active version (``status`` holds ODCS's otherwise)."""
OPEN_STATUSES = ("pending", "open")
"""Schema-change statuses that still need someone: the board is red while any exist."""
STATUSES = ("pending", "approved", "rejected", "accepted", "open", "resolved")


@dataclass(frozen=True)
class SchemaChangeRecord:
    """A set of schema changes: between two contract versions, or a live table's departure."""

    id: str
    contract: str
    team: str
    source: str
    version: str
    base_version: str | None
    dataset: str | None
    dataset_version: str | None
    breaking: bool
    changes: list[Change]
    status: str
    requested_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None

    @property
    def ref(self) -> str:
        """``contract@version``, as ``andon contract approve`` takes it."""
        return f"{self.contract}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "contract": self.contract,
            "team": self.team,
            "source": self.source,
            "version": self.version,
            "base_version": self.base_version,
            "dataset": self.dataset,
            "dataset_version": self.dataset_version,
            "breaking": self.breaking,
            "changes": [c.as_dict() for c in self.changes],
            "status": self.status,
            "requested_by": self.requested_by,
            "created_at": self.created_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "reason": self.reason,
        }


# --------------------------------------------------------------------------- in a transaction


def active_version(session: Session, contract_id: str) -> d.DataContractVersion | None:
    """The contract's active version: the latest applied that is neither pending nor rejected."""
    return session.scalar(
        select(d.DataContractVersion)
        .where(
            d.DataContractVersion.contract_id == contract_id,
            d.DataContractVersion.status.not_in(INACTIVE_STATUSES),
        )
        .order_by(d.DataContractVersion.applied_at.desc(), d.DataContractVersion.id.desc())
        .limit(1)
    )


def refuse_while_pending(session: Session, contract: d.DataContract) -> None:
    """:class:`Conflict` when a version of ``contract`` awaits a data-steward.

    Locks the contract row first (PostgreSQL; SQLite's write transaction is already
    exclusive), so two concurrent applies cannot both leave a version pending.
    """
    session.execute(
        select(d.DataContract.id).where(d.DataContract.id == contract.id).with_for_update()
    )
    waiting = session.scalar(
        select(d.DataContractVersion.version).where(
            d.DataContractVersion.contract_id == contract.id,
            d.DataContractVersion.status == PENDING,
        )
    )
    if waiting is not None:
        raise Conflict(
            f"contract '{contract.key}' version {waiting} has a breaking change pending: a "
            "data-steward approves or rejects it first",
            hint=f"`andon contract approve {contract.key}@{waiting} --reason ...`",
        )


def changes_since(base: d.DataContractVersion | None, new: Contract) -> list[Change]:
    """What ``new`` changes against the active version ``base`` (nothing for a first one)."""
    if base is None:
        return []
    old = parse_contract(base.content, source=f"version {base.version}")
    return contract_changes(old, new)


def stage_contract_change(
    session: Session,
    *,
    contract: d.DataContract,
    version: d.DataContractVersion,
    base: d.DataContractVersion | None,
    changes: list[Change],
    now: datetime,
) -> s.SchemaChange | None:
    """Store the changes of a newly applied version (``pending`` if any breaks)."""
    if base is None or not changes:
        return None
    is_breaking = bool(breaking(changes))
    row = s.SchemaChange(
        id=new_id("schema_change"),
        contract_id=contract.id,
        source="contract",
        version_id=version.id,
        base_version_id=base.id,
        breaking=is_breaking,
        changes=[c.as_dict() for c in changes],
        status=PENDING if is_breaking else "accepted",
        requested_by=version.applied_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def stage_live_change(
    session: Session,
    *,
    contract_id: str,
    contract_version_id: str,
    dataset_id: str,
    dataset_version_id: str,
    declared: SchemaObject,
    columns: list[tuple[str, str]],
    actor: str,
    now: datetime,
    origin: str,
) -> tuple[s.SchemaChange | None, list[str]]:
    """Compare a recorded dataset version's live ``columns`` with their ``declared`` table.

    Opens an incident when the departure breaks, resolving older open ones of the dataset;
    ``data snapshot`` and ``check run`` both call this for every table they recorded.
    Returns the newly opened incident (None when nothing breaks, or when the same departure
    is already open) and the ids of incidents it resolved; ``origin`` (``snapshot dv_...``)
    opens the reason a resolved incident records.
    """
    changes = live_changes(declared, columns)
    opened = list(
        session.scalars(
            select(s.SchemaChange).where(
                s.SchemaChange.dataset_id == dataset_id, s.SchemaChange.status == "open"
            )
        )
    )
    found = [c.as_dict() for c in changes]
    is_breaking = bool(breaking(changes))
    if is_breaking:
        for row in opened:
            if row.version_id == contract_version_id and row.changes == found:
                return None, []  # the same incident, still open: no second event
    resolved = []
    for row in opened:
        row.status = "resolved"
        row.decided_by, row.decided_at = actor, now
        row.decision_reason = f"{origin} " + (
            "breaks differently" if is_breaking else "conforms to the contract again"
        )
        resolved.append(row.id)
    if not is_breaking:
        session.flush()
        return None, resolved
    row = s.SchemaChange(
        id=new_id("schema_change"),
        contract_id=contract_id,
        source="snapshot",
        version_id=contract_version_id,
        dataset_id=dataset_id,
        dataset_version_id=dataset_version_id,
        breaking=True,
        changes=found,
        status="open",
        requested_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, resolved


def emit_breaking(
    session: Session, change: s.SchemaChange, entry: Entry, *, contract: str, version: str
) -> None:
    """Write the ``schema.breaking`` event of ``change`` (after its audit entry)."""
    payload = {
        "actor": entry.actor,
        "audit_id": entry.id,
        "schema_change": change.id,
        "contract": contract,
        "version": version,
        "source": change.source,
        "dataset_version": change.dataset_version_id,
        "breaking": [c for c in change.changes if Change.from_dict(c).breaking],
    }
    outbox.emit(session, "schema.breaking", change.id, payload, entry.ts)


# --------------------------------------------------------------------------- operations


def _record(session: Session, row: s.SchemaChange) -> SchemaChangeRecord:
    contract = session.get(d.DataContract, row.contract_id)
    version = session.get(d.DataContractVersion, row.version_id)
    assert contract is not None
    assert version is not None
    team = session.get(t.Team, contract.team_id)
    base = session.get(d.DataContractVersion, row.base_version_id) if row.base_version_id else None
    dataset = session.get(d.Dataset, row.dataset_id) if row.dataset_id else None
    return SchemaChangeRecord(
        row.id,
        contract.key,
        team.name if team else contract.team_id,
        row.source,
        version.version,
        base.version if base else None,
        dataset.name if dataset else None,
        row.dataset_version_id,
        row.breaking,
        [Change.from_dict(c) for c in row.changes],
        row.status,
        row.requested_by,
        as_utc(row.created_at),
        row.decided_by,
        as_utc(row.decided_at) if row.decided_at else None,
        row.decision_reason,
    )


def list_schema_changes(
    ctx: Context, contract: str | None = None, *, status: str | None = None
) -> list[SchemaChangeRecord]:
    """Schema changes of the contracts the principal may read, newest first."""
    if status is not None and status not in STATUSES:
        raise Invalid(f"{status!r} is not one of {', '.join(STATUSES)}", field="status")
    with ctx.db.read() as session:
        ctx.require_somewhere("contract.read")
        stmt = select(s.SchemaChange, d.DataContract.team_id).join(
            d.DataContract, d.DataContract.id == s.SchemaChange.contract_id
        )
        if contract is not None:
            if session.scalar(select(d.DataContract).where(d.DataContract.key == contract)) is None:
                raise NotFound(f"no applied contract '{contract}'", field="contract")
            stmt = stmt.where(d.DataContract.key == contract)
        if status is not None:
            stmt = stmt.where(s.SchemaChange.status == status)
        rows = session.execute(
            stmt.order_by(s.SchemaChange.created_at.desc(), s.SchemaChange.id.desc())
        ).all()
        return [
            _record(session, row)
            for row, team_id in rows
            if ctx.can("contract.read", team_id=team_id)
        ]


def _pending(session: Session, ref: str) -> tuple[d.DataContract, d.DataContractVersion]:
    key, sep, version = ref.rpartition("@")
    if not sep or not key or not version:
        raise Invalid(f"{ref!r} must name a version as CONTRACT_ID@VERSION", field="version")
    contract = session.scalar(select(d.DataContract).where(d.DataContract.key == key))
    if contract is None:
        raise NotFound(f"no applied contract '{key}'", field="version")
    row = session.scalar(
        select(d.DataContractVersion)
        .where(
            d.DataContractVersion.contract_id == contract.id,
            d.DataContractVersion.version == version,
        )
        .with_for_update()  # two stewards deciding at once: the second sees the first's decision
    )
    if row is None:
        raise NotFound(f"contract '{key}' has no version {version}", field="version")
    return contract, row


def _decide(ctx: Context, ref: str, reason: str, *, approve: bool) -> SchemaChangeRecord:
    verb = "approve" if approve else "reject"
    with ctx.db.transaction() as session:
        contract, version = _pending(session, ref)
        ctx.require("contract.approve", team_id=contract.team_id)
        if version.status != PENDING:
            raise Conflict(
                f"{ref} is {version.status}, not pending: there is nothing to {verb}"
                + (" (it was decided already)" if version.status == "rejected" else "")
            )
        if version.applied_by == ctx.principal.name:
            raise Forbidden(f"four eyes: you applied {ref}, so another data-steward must {verb} it")
        if not reason.strip():
            raise Invalid(f"say why you {verb} the change", field="reason")
        change = session.scalar(
            select(s.SchemaChange).where(
                s.SchemaChange.version_id == version.id, s.SchemaChange.status == PENDING
            )
        )
        assert change is not None, "a pending version always has its pending change"
        now = ctx.clock.now()
        parsed = parse_contract(version.content, source=ref)
        if approve:
            version.status = parsed.status
            team = session.get(t.Team, contract.team_id)
            assert team is not None
            for obj in parsed.schema:
                register_dataset(session, contract, team, obj.name, now)
        else:
            version.status = "rejected"
        change.status = "approved" if approve else "rejected"
        change.decided_by, change.decided_at, change.decision_reason = (
            ctx.principal.name,
            now,
            reason,
        )
        session.flush()
        record_change(
            session,
            ctx,
            action="contract.approve",
            object_id=version.id,
            change={
                "contract": contract.key,
                "version": version.version,
                "decision": change.status,
                "schema_change": change.id,
                "requested_by": change.requested_by,
            },
            reason=reason,
            event="contract.approved" if approve else "contract.rejected",
        )
        return _record(session, change)


def approve_version(ctx: Context, ref: str, *, reason: str) -> SchemaChangeRecord:
    """Approve the pending ``CONTRACT_ID@VERSION``: it becomes the active version."""
    return _decide(ctx, ref, reason, approve=True)


def reject_version(ctx: Context, ref: str, *, reason: str) -> SchemaChangeRecord:
    """Reject the pending ``CONTRACT_ID@VERSION``: the active version stays as it is."""
    return _decide(ctx, ref, reason, approve=False)
