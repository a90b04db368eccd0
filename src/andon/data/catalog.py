"""The catalog's door: classify a dataset's fields, propose metadata, decide proposals.

* :func:`classify_dataset` (``data.classify``) profiles the dataset (one query on DuckDB, see
  :mod:`andon.data.profile`), classifies every column from its name and up to 1,000 sampled
  values (:mod:`andon.data.classify`), replaces the dataset's stored classification, and
  stores the enricher's proposals as ``pending``; one audited transaction.
* :func:`list_proposals` (``dataset.read``) lists them.
* :func:`accept_proposal` / :func:`reject_proposal` (``catalog.decide``, data-stewards only)
  decide one. Accepting writes a new contract version (:func:`_write_contract_version`) whose
  ODCS document carries the accepted metadata, in the same transaction as the decision and
  its audit entry.

Re-classifying does not pile up duplicates: a pending proposal for the same column and kind is
updated in place, and a value a steward already accepted or rejected is not proposed again.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.core.canonical import digest
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.core.records import one_of, published
from andon.data import approvals, reach
from andon.data.classify import FieldClassification
from andon.data.contracts import parse_contract
from andon.data.enrich import DatasetFacts, Draft, Enricher, OfflineEnricher
from andon.data.queries import DatasetRef, latest_contract_version, resolve_dataset
from andon.data.schema_changes import Change, breaking
from andon.data.sql_guard import SqlLimits
from andon.store.tables import catalog as c
from andon.store.tables import data as d

STATUSES = ("pending", "accepted", "rejected")


@published
@dataclass(frozen=True)
class ProposalRecord:
    """An enrichment proposal for a dataset or column, and its decision."""

    id: str
    dataset: str
    column: str | None
    kind: str
    value: dict[str, Any]
    rationale: str
    enricher: str
    status: Annotated[str, one_of("pending", "accepted", "rejected")]
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str
    contract_version: str | None = None
    """The contract version carrying it."""
    contract_version_status: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "dataset": self.dataset,
            "column": self.column,
            "kind": self.kind,
            "value": self.value,
            "rationale": self.rationale,
            "enricher": self.enricher,
            "status": self.status,
            "proposed_by": self.proposed_by,
            "proposed_at": self.proposed_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "reason": self.reason,
            "contract_version": self.contract_version,
            "contract_version_status": self.contract_version_status,
        }


@dataclass(frozen=True)
class ClassifyReport:
    """What ``andon catalog classify`` found and proposed."""

    dataset: str
    rows: int
    sampled: int
    queries: int
    fields: list[FieldClassification]
    proposals: list[ProposalRecord]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dataset": self.dataset,
            "rows": self.rows,
            "sampled": self.sampled,
            "queries": self.queries,
            "fields": [f.as_dict() for f in self.fields],
            "proposals": [p.as_dict() for p in self.proposals],
        }


def _record(
    row: c.CatalogProposal,
    label: str,
    version: str | None = None,
    version_status: str | None = None,
) -> ProposalRecord:
    return ProposalRecord(
        row.id,
        label,
        row.column,
        row.kind,
        dict(row.value),
        row.rationale,
        row.enricher,
        row.status,
        row.proposed_by,
        as_utc(row.proposed_at),
        row.decided_by,
        as_utc(row.decided_at) if row.decided_at else None,
        row.reason,
        version,
        version_status,
    )


# --------------------------------------------------------------------------- classify


def classify_dataset(
    ctx: Context,
    dataset: str,
    *,
    server: str | None = None,
    enricher: Enricher | None = None,
    reason: str = "",
) -> ClassifyReport:
    """Classify every column of ``dataset``, store the tags and the enricher's proposals."""
    from andon.data.profile import open_source, profile_table

    with ctx.db.read() as session:
        ref = resolve_dataset(session, dataset)
        ctx.require("data.classify", team_id=ref.team_id, asset_id=ref.asset_id)
        reach.confine_files(session, ctx.settings, ref.contract, ref.base_dir, ref.team_id)
        document = copy.deepcopy(ref.contract.document)
    obj = ref.contract.table(ref.name)
    assert obj is not None
    source = open_source(ref.contract, ref.base_dir, ref.name, server, SqlLimits.of(ctx.settings))
    try:
        profile = profile_table(source, obj)
    finally:
        source.close()
    fields = profile.classified
    facts = DatasetFacts(
        ref.label, ref.team, ref.name, ref.contract, profile, fields, ctx.clock.now(), document
    )
    chosen = enricher or OfflineEnricher()
    drafts = chosen.propose(facts)  # may call out (LLM): outside the write transaction
    with ctx.db.transaction() as session:
        ctx.require("data.classify", team_id=ref.team_id, asset_id=ref.asset_id)
        now = ctx.clock.now()
        session.execute(
            delete(c.FieldClassification).where(c.FieldClassification.dataset_id == ref.id)
        )
        for f in fields:
            session.add(
                c.FieldClassification(
                    id=new_id("classification"),
                    dataset_id=ref.id,
                    column=f.column,
                    category=f.category,
                    tags=[t.as_dict() for t in f.tags],
                    confidence=f.confidence,
                    evidence={"sampled": f.sampled, "formats": f.formats},
                    classified_by=ctx.principal.name,
                    classified_at=now,
                )
            )
        stored = [
            p for p in (_upsert(session, ctx, ref, chosen.name, dr, now) for dr in drafts) if p
        ]
        session.flush()
        record_change(
            session,
            ctx,
            action="data.classify",
            object_id=ref.id,
            change={
                "dataset": ref.label,
                "enricher": chosen.name,
                "sampled": profile.sampled,
                "fields": {f.column: f.category for f in fields},
                "proposals": [p.id for p in stored],
            },
            reason=reason,
            event="dataset.classified",
        )
        records = [_record(p, ref.label) for p in stored]
    return ClassifyReport(
        ref.label, profile.rows, profile.sampled, profile.queries, fields, records
    )


def _upsert(
    session: Session, ctx: Context, ref: DatasetRef, enricher: str, draft: Draft, now: datetime
) -> c.CatalogProposal | None:
    rows = session.scalars(
        select(c.CatalogProposal).where(
            c.CatalogProposal.dataset_id == ref.id,
            c.CatalogProposal.kind == draft.kind,
            c.CatalogProposal.column == draft.column
            if draft.column is not None
            else c.CatalogProposal.column.is_(None),
        )
    ).all()
    if any(r.status != "pending" and r.value == draft.value for r in rows):
        return None  # already decided: a steward said yes or no to exactly this
    pending = next((r for r in rows if r.status == "pending"), None)
    if pending is not None:
        if pending.value == draft.value:
            return None
        pending.value, pending.rationale, pending.enricher = draft.value, draft.rationale, enricher
        pending.proposed_by, pending.proposed_at = ctx.principal.name, now
        return pending
    row = c.CatalogProposal(
        id=new_id("proposal"),
        dataset_id=ref.id,
        column=draft.column,
        kind=draft.kind,
        value=draft.value,
        rationale=draft.rationale,
        enricher=enricher,
        status="pending",
        proposed_by=ctx.principal.name,
        proposed_at=now,
        reason="",
    )
    session.add(row)
    return row


# --------------------------------------------------------------------------- read


def list_proposals(
    ctx: Context, dataset: str, *, status: str | None = None
) -> list[ProposalRecord]:
    """The proposals for ``dataset``, oldest first (``status`` filters)."""
    if status is not None and status not in STATUSES:
        raise Invalid(f"{status!r} is not one of {', '.join(STATUSES)}", field="status")
    with ctx.db.read() as session:
        ref = resolve_dataset(session, dataset)
        ctx.require("dataset.read", team_id=ref.team_id, asset_id=ref.asset_id)
        stmt = select(c.CatalogProposal, d.DataContractVersion.version).outerjoin(
            d.DataContractVersion,
            d.DataContractVersion.id == c.CatalogProposal.contract_version_id,
        )
        stmt = stmt.where(c.CatalogProposal.dataset_id == ref.id)
        if status is not None:
            stmt = stmt.where(c.CatalogProposal.status == status)
        stmt = stmt.order_by(c.CatalogProposal.proposed_at, c.CatalogProposal.id)
        return [_record(row, ref.label, version) for row, version in session.execute(stmt)]


# --------------------------------------------------------------------------- decide


def _proposal(session: Session, proposal_id: str) -> tuple[c.CatalogProposal, d.Dataset]:
    row = session.get(c.CatalogProposal, proposal_id)
    if row is None:
        raise NotFound(f"no proposal '{proposal_id}'", field="proposal")
    ds = session.get(d.Dataset, row.dataset_id)
    assert ds is not None
    return row, ds


def _pending(row: c.CatalogProposal) -> None:
    if row.status != "pending":
        raise Conflict(
            f"proposal {row.id} was already {row.status} by {row.decided_by}",
            hint="run `andon catalog classify` again for a fresh proposal",
        )


def reject_proposal(ctx: Context, proposal_id: str, *, reason: str = "") -> ProposalRecord:
    """Reject a pending proposal (it is not proposed again with the same value)."""
    with ctx.db.transaction() as session:
        row, ds = _proposal(session, proposal_id)
        ctx.require("catalog.decide", team_id=ds.team_id, asset_id=ds.asset_id)
        _pending(row)
        ref = resolve_dataset(session, _label(session, ds))
        row.status, row.decided_by = "rejected", ctx.principal.name
        row.decided_at, row.reason = ctx.clock.now(), reason
        record_change(
            session,
            ctx,
            action="catalog.decide",
            object_id=row.id,
            change={
                "decision": "rejected",
                "dataset": ref.label,
                "column": row.column,
                "kind": row.kind,
                "value": row.value,
            },
            reason=reason,
            event="catalog.proposal.rejected",
        )
        return _record(row, ref.label)


def accept_proposal(ctx: Context, proposal_id: str, *, reason: str = "") -> ProposalRecord:
    """Accept a pending proposal: a new contract version carries it (one transaction).

    The new version is compared with the active one like any applied version: when the
    proposal breaks the contract (allowed values where there were none restrict a column), the
    version is stored ``pending``, a ``schema.breaking`` event is emitted, and another
    data-steward approves it (``andon contract approve``) before it takes effect.
    """
    with ctx.db.transaction() as session:
        row, ds = _proposal(session, proposal_id)
        ctx.require("catalog.decide", team_id=ds.team_id, asset_id=ds.asset_id)
        _pending(row)
        ref = resolve_dataset(session, _label(session, ds))
        contract = session.get(d.DataContract, ref.contract_id)
        assert contract is not None
        approvals.refuse_while_pending(session, contract)
        version, base, changes = _write_contract_version(
            session, ctx, ref, lambda doc: apply_proposal(doc, ref.name, row.kind, row.column,
                                                          row.value)
        )  # fmt: skip
        staged = approvals.stage_contract_change(
            session, contract=contract, version=version, base=base, changes=changes,
            now=ctx.clock.now(),
        )  # fmt: skip
        row.status, row.decided_by = "accepted", ctx.principal.name
        row.decided_at, row.reason = ctx.clock.now(), reason
        row.contract_version_id = version.id
        entry = record_change(
            session,
            ctx,
            action="catalog.decide",
            object_id=row.id,
            change={
                "decision": "accepted",
                "dataset": ref.label,
                "column": row.column,
                "kind": row.kind,
                "value": row.value,
                "contract": ref.contract_key,
                "contract_version": version.version,
                "contract_version_status": version.status,
                "breaking": [c.as_dict() for c in breaking(changes)],
                "digest": version.digest,
            },
            reason=reason,
            event="catalog.proposal.accepted",
        )
        if staged is not None and staged.breaking:
            approvals.emit_breaking(
                session, staged, entry, contract=ref.contract_key, version=version.version
            )
        return _record(row, ref.label, version.version, version.status)


def _label(session: Session, ds: d.Dataset) -> str:
    from andon.store.tables import auth as t

    team = session.get(t.Team, ds.team_id)
    assert team is not None
    return f"{team.name}/{ds.name}"


# --------------------------------------------------------------------------- contract writes


def apply_proposal(
    doc: dict[str, Any], table: str, kind: str, column: str | None, value: dict[str, Any]
) -> None:
    """Change an ODCS document in place so it carries an accepted proposal."""
    if kind == "owner":
        props = [
            p
            for p in doc.get("customProperties") or []
            if not (isinstance(p, dict) and p.get("property") == "owner")
        ]
        doc["customProperties"] = [*props, {"property": "owner", "value": value["team"]}]
        return
    if kind == "freshness":
        element = value["element"]
        slas = [
            s
            for s in doc.get("slaProperties") or []
            if not (isinstance(s, dict) and s.get("property") in ("freshness", "latency")
                    and s.get("element") == element)
        ]  # fmt: skip
        # ODCS names the age of the newest value `latency` (freshness is its older synonym).
        sla = {"property": "latency", "value": value["value"], "unit": value["unit"]}
        doc["slaProperties"] = [*slas, {**sla, "element": element}]
        return
    prop = _property(doc, table, column)
    if kind == "description":
        prop["description"] = value["description"]
    elif kind == "classification":
        prop["classification"] = value["classification"]
        tags = [t for t in prop.get("tags") or [] if t not in value["tags"]]
        prop["tags"] = [*tags, *value["tags"]]
    elif kind == "allowed_values":
        name = f"{table}.{column}.allowed"
        rules = [
            r
            for r in prop.get("quality") or []
            if not (isinstance(r, dict) and r.get("name") == name)
        ]
        rule = {
            "name": name,
            "type": "library",
            "metric": "invalidValues",
            "arguments": {"validValues": value["validValues"]},
            "severity": "warning",
        }
        prop["quality"] = [*rules, rule]
    else:
        raise Invalid(f"unknown proposal kind {kind!r}")


def _property(doc: dict[str, Any], table: str, column: str | None) -> dict[str, Any]:
    for obj in doc.get("schema") or []:
        if isinstance(obj, dict) and obj.get("name") == table:
            for prop in obj.get("properties") or []:
                if isinstance(prop, dict) and prop.get("name") == column:
                    return prop
    raise Conflict(
        f"the contract no longer declares {table}.{column}: reject this proposal instead"
    )


_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


def _next_version(current: str, taken: set[str]) -> str:
    m = _SEMVER.match(current)
    n = 1
    while True:
        candidate = (
            f"{m.group(1)}.{m.group(2)}.{int(m.group(3)) + n}" if m else f"{current}.catalog{n}"
        )
        if candidate not in taken:
            return candidate
        n += 1


def _write_contract_version(
    session: Session, ctx: Context, ref: DatasetRef, change: Any
) -> tuple[d.DataContractVersion, d.DataContractVersion, list[Change]]:
    """Store a new version of ``ref``'s contract: the active document changed by ``change``.

    Returns the new version, the active version it was built from, and what it changes. The
    caller holds the transaction, has checked the permission (and that nothing is pending)
    and audits the change. The new version is the next free patch version (``1.0.0`` ->
    ``1.0.1``), applied after the latest one; it is ``pending`` when a change breaks.
    """
    import yaml  # type: ignore[import-untyped]

    latest = latest_contract_version(session, ref.contract_id)
    base = approvals.active_version(session, ref.contract_id) or latest
    doc = copy.deepcopy(parse_contract(base.content, source=ref.contract_key).document)
    change(doc)
    taken = set(
        session.scalars(
            select(d.DataContractVersion.version).where(
                d.DataContractVersion.contract_id == ref.contract_id
            )
        )
    )
    doc["version"] = _next_version(str(doc.get("version", base.version)), taken)
    text = (
        f"# ODCS v3 contract '{ref.contract_key}' version {doc['version']}: catalog metadata "
        f"accepted by {ctx.principal.name} (andon catalog accept).\n"
        + yaml.safe_dump(doc, sort_keys=False, width=100)
    )
    contract = parse_contract(text, source=f"contract '{ref.contract_key}' {doc['version']}")
    changes = approvals.changes_since(base, contract)
    applied_at = max(ctx.clock.now(), as_utc(latest.applied_at) + timedelta(microseconds=1))
    row = d.DataContractVersion(
        id=new_id("contract_version"),
        contract_id=ref.contract_id,
        version=str(doc["version"]),
        status=approvals.PENDING if breaking(changes) else base.status,
        content=text,
        digest=digest(contract.document),
        base_dir=base.base_dir,
        applied_by=ctx.principal.name,
        applied_at=applied_at,
    )
    session.add(row)
    session.flush()
    return row, base, changes
