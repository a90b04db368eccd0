"""Model cards generated from facts: one read of the line, permission-checked once.

:func:`model_card` gathers, in one read transaction, what andon knows about a model version:
the owner's narrative (:mod:`andon.cards.narrative`), the team's owners, the run that produced
it, the dataset versions it was trained and evaluated on (:mod:`andon.data.queries`),
its latest evaluation with slices, fairness and champion deltas
(:func:`andon.evaluate.facts.latest_facts`), the approvals of its promotion requests, the artifact (format, digest, size, signature,
pickle trust with who granted it from the audit log) and its aliases. Rendering lives in
:mod:`andon.cards.render`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.cards import narrative
from andon.cards.records import (
    ApprovalFact,
    ArtifactFact,
    DatasetFact,
    EvaluationFact,
    ModelCard,
    NarrativeSection,
    PickleTrust,
    TrainingRun,
)
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.data.queries import DatasetVersionFacts, dataset_version_facts
from andon.evaluate.facts import EvaluationFacts, latest_facts
from andon.registry import facts as registry_facts
from andon.store.tables import audit as audit_tables
from andon.store.tables import auth as t
from andon.store.tables import policy as p

_NOT_METRICS = ("slices", "bias")


def model_card(ctx: Context, ref: str) -> ModelCard:
    """The card of the version ``ref`` names (``NAME@VERSION``, ``NAME@ALIAS``, ``NAME`` for
    the latest, or a model version id). Needs ``model.read`` on the model."""
    with ctx.db.read() as session:
        found = registry_facts.resolve_version(session, ref)
        ctx.require("model.read", team_id=found.team_id, asset_id=found.asset_id)
        version = found.record
        run = registry_facts.run_of(session, version.run_id) if version.run_id else None
        evaluation = latest_facts(session, version.id)
        data_ids = list(version.dataset_version_ids)
        if evaluation is not None:
            data_ids.append(evaluation.dataset_version_id)
        datasets = dataset_version_facts(session, data_ids)
        state = narrative.completeness_of(session, version.id)
        return ModelCard(
            id=version.id,
            model=version.model,
            team=version.team,
            version=version.version,
            aliases=list(version.aliases),
            owners=_owners(session, found.team_id),
            created_by=version.created_by,
            created_at=version.created_at,
            sections=_sections(session, version.id),
            complete=state.complete,
            missing=list(state.missing),
            training_run=(
                TrainingRun(
                    run.id,
                    run.name,
                    run.status,
                    run.git_commit,
                    run.env_hash,
                    dict(run.params),
                    dict(run.metrics),
                )
                if run is not None
                else None
            ),
            training_data=[_dataset(i, datasets) for i in version.dataset_version_ids],
            evaluation=(
                _evaluation(session, evaluation, datasets) if evaluation is not None else None
            ),
            artifact=ArtifactFact(
                version.format,
                f"sha256:{version.digest}",
                version.size,
                dict(version.signature),
                version.trusted_pickle,
                _pickle_trust(session, version.id) if version.trusted_pickle else None,
            ),
            generated_at=ctx.clock.now(),
            approvals=_approvals(session, version.id),
        )


def _owners(session: Session, team_id: str) -> list[str]:
    return list(
        session.scalars(
            select(t.Principal.name)
            .join(t.TeamMember, t.TeamMember.principal_id == t.Principal.id)
            .where(t.TeamMember.team_id == team_id, t.TeamMember.is_owner.is_(True))
            .order_by(t.Principal.name)
        )
    )


def _sections(session: Session, version_id: str) -> list[NarrativeSection]:
    written = narrative.sections_of(session, version_id)
    out = []
    for name, question in narrative.SECTIONS.items():
        got = written.get(name)
        out.append(
            NarrativeSection(
                name,
                question,
                got.text if got else "",
                name in narrative.REQUIRED,
                got.from_version if got else None,
                got.updated_by if got else None,
                got.updated_at if got else None,
            )
        )
    return out


def _dataset(version_id: str, known: dict[str, DatasetVersionFacts]) -> DatasetFact:
    fact = known.get(version_id)
    if fact is None:
        return DatasetFact(version_id, None, None, None)
    return DatasetFact(version_id, fact.dataset, fact.row_count, fact.schema_hash)


def _evaluation(
    session: Session, facts: EvaluationFacts, datasets: dict[str, DatasetVersionFacts]
) -> EvaluationFact:
    metrics: dict[str, Any] = {k: v for k, v in facts.metrics.items() if k not in _NOT_METRICS}
    slices = facts.metrics.get("slices") or {}
    bias = facts.metrics.get("bias")
    champion = None
    if facts.champion_version_id is not None:
        refs = registry_facts.version_refs(session, [facts.champion_version_id])
        champion = refs.get(facts.champion_version_id, facts.champion_version_id)
    champion_metrics = None
    if facts.champion_metrics is not None:
        champion_metrics = {
            k: v for k, v in facts.champion_metrics.items() if k not in _NOT_METRICS
        }
    return EvaluationFact(
        id=facts.evaluation_id,
        suite=facts.suite_name,
        dataset=_dataset(facts.dataset_version_id, datasets),
        created_by=facts.created_by,
        created_at=as_utc(facts.created_at),
        metrics=metrics,
        slices={str(k): dict(v) for k, v in sorted(dict(slices).items())},
        bias=dict(bias) if isinstance(bias, dict) else None,
        champion=champion,
        champion_metrics=champion_metrics,
        deltas=dict(facts.deltas),
    )


def _approvals(session: Session, version_id: str) -> list[ApprovalFact]:
    """Every approve decision on a request to promote the version, oldest first."""
    rows = session.execute(
        select(p.Approval, p.ApprovalRequest.stage)
        .join(p.ApprovalRequest, p.ApprovalRequest.id == p.Approval.request_id)
        .where(p.ApprovalRequest.model_version_id == version_id, p.Approval.decision == "approve")
        .order_by(p.Approval.decided_at, p.Approval.id)
    ).all()
    return [
        ApprovalFact(a.id, stage, a.role, a.principal, a.reason, as_utc(a.decided_at))
        for a, stage in rows
    ]


def _pickle_trust(session: Session, version_id: str) -> PickleTrust | None:
    """Who registered the version as a trusted pickle (the audit entry of that choice)."""
    entry = session.scalars(
        select(audit_tables.AuditEntry)
        .where(
            audit_tables.AuditEntry.object_id == version_id,
            audit_tables.AuditEntry.action == "model.trust_pickle",
        )
        .order_by(audit_tables.AuditEntry.seq)
        .limit(1)
    ).first()
    if entry is None:
        return None
    return PickleTrust(entry.actor, as_utc(entry.ts), entry.reason)
