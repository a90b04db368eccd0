"""Stage policies and gate decisions: the door for their state.

A team applies a stage policy (``policy.apply``); each apply of changed content is a new version,
audited. A model's own policy wins over its team's. ``check_gate`` evaluates a stage's gate on a
model version's facts and stores the decision with every input fact, the policy version and
each clause's outcome, with lineage edges ``model_version -input-> gate_decision`` and
``evaluation -input-> gate_decision``. Approvals live in :mod:`andon.policy.approvals`,
promotion and rollback in :mod:`andon.policy.promotion`, the andon cord in
:mod:`andon.policy.cord`.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.audit.service import record_change
from andon.auth.queries import team_by_name
from andon.core.clock import as_utc
from andon.core.context import Context
from andon.core.errors import Conflict, Invalid, NotFound
from andon.core.ids import new_id
from andon.policy.decisions import decide_gate
from andon.policy.records import GateDecisionRecord, PolicyRecord
from andon.policy.spec import PolicySpec, Stage, parse_policy
from andon.registry.queries import model_by_ref, parse_ref, version_by_ref
from andon.store.tables import auth as t
from andon.store.tables import policy as p
from andon.store.tables import registry as r

MAX_POLICY = 100_000


# --------------------------------------------------------------------------- helpers


def team_name(session: Session, team_id: str) -> str:
    """The name of team ``team_id``."""
    return str(session.scalar(select(t.Team.name).where(t.Team.id == team_id)))


def model_and_version(session: Session, ref: str) -> tuple[r.Model, r.ModelVersion]:
    """The model and version ``ref`` names; it must name a version (``NAME@VERSION``)."""
    parsed = parse_ref(ref)
    if parsed.version is None and parsed.alias is None:
        raise Invalid(f"'{ref}' must name a version: NAME@VERSION", field="model")
    model = model_by_ref(session, parsed)
    return model, version_by_ref(session, model, parsed)


def effective_policy(session: Session, model: r.Model) -> p.StagePolicy | None:
    """The newest version of the model's own policy, else of its team's, else None."""
    for name in (model.name, ""):
        row = session.scalar(
            select(p.StagePolicy)
            .where(p.StagePolicy.team_id == model.team_id, p.StagePolicy.model_name == name)
            .order_by(p.StagePolicy.version.desc())
            .limit(1)
        )
        if row is not None:
            return row
    return None


def stage_of(session: Session, model: r.Model, stage: str) -> tuple[p.StagePolicy, Stage]:
    """The policy row and the named stage that govern ``model``; clear errors otherwise."""
    row = effective_policy(session, model)
    if row is None:
        raise NotFound(
            f"no stage policy covers model '{model.name}'",
            field="stage",
            hint="apply one with `andon policy apply`",
        )
    spec = PolicySpec.from_dict(row.spec)
    if stage not in spec.stages:
        raise Invalid(
            f"'{stage}' is not a stage of policy v{row.version} "
            f"(stages: {', '.join(sorted(spec.stages))})",
            field="stage",
        )
    return row, spec.stages[stage]


def decision_record(row: p.GateDecision, model: r.Model, version: int) -> GateDecisionRecord:
    """The record of a stored decision."""
    return GateDecisionRecord(
        id=row.id,
        model=model.name,
        version=version,
        stage=row.stage,
        policy_id=row.policy_id,
        policy_version=row.policy_version,
        gate=row.gate,
        passed=row.passed,
        facts=dict(row.facts),
        clauses=list(row.clauses),
        evaluation_id=row.evaluation_id,
        decided_by=row.decided_by,
        decided_at=as_utc(row.decided_at),
    )


def _policy_record(row: p.StagePolicy, team: str, *, changed: bool = True) -> PolicyRecord:
    return PolicyRecord(
        id=row.id,
        team=team,
        model=row.model_name or None,
        version=row.version,
        stages=dict(row.spec["stages"]),
        digest=row.digest,
        applied_by=row.applied_by,
        applied_at=as_utc(row.applied_at),
        changed=changed,
    )


# --------------------------------------------------------------------------- policies


def apply_policy(ctx: Context, content: str, *, reason: str = "") -> PolicyRecord:
    """Check and store a stage policy (YAML) as the next version of its team's (or model's)
    policy. Unchanged content returns the current version and changes nothing."""
    if len(content) > MAX_POLICY:
        raise Invalid(f"is {len(content)} characters; at most {MAX_POLICY}", field="policy")
    spec = parse_policy(content)
    stored = spec.as_dict()
    digest = hashlib.sha256(content.encode()).hexdigest()
    model_name = spec.model or ""
    with ctx.db.transaction() as session:
        team = team_by_name(session, spec.team)
        ctx.require("policy.apply", team_id=team.id)
        latest = session.scalar(
            select(p.StagePolicy)
            .where(p.StagePolicy.team_id == team.id, p.StagePolicy.model_name == model_name)
            .order_by(p.StagePolicy.version.desc())
            .limit(1)
        )
        if latest is not None and latest.digest == digest:
            return _policy_record(latest, spec.team, changed=False)
        row = p.StagePolicy(
            id=new_id("policy"),
            team_id=team.id,
            model_name=model_name,
            version=(latest.version if latest else 0) + 1,
            spec=stored,
            content=content,
            digest=digest,
            applied_by=ctx.principal.name,
            applied_at=ctx.clock.now(),
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            raise Conflict("the policy was applied concurrently; retry") from None
        record_change(
            session,
            ctx,
            action="policy.apply",
            object_id=row.id,
            change={
                "team": spec.team,
                "model": spec.model,
                "version": row.version,
                "digest": digest,
                "stages": stored["stages"],
            },
            reason=reason,
            event="policy.applied",
        )
        return _policy_record(row, spec.team)


def get_policy(ctx: Context, team: str, *, model: str | None = None) -> PolicyRecord:
    """The policy in force for ``team`` (for ``model``: its own, else the team's)."""
    with ctx.db.read() as session:
        team_row = team_by_name(session, team)
        ctx.require("policy.read", team_id=team_row.id)
        row = None
        for name in ([model] if model else []) + [""]:
            row = session.scalar(
                select(p.StagePolicy)
                .where(p.StagePolicy.team_id == team_row.id, p.StagePolicy.model_name == name)
                .order_by(p.StagePolicy.version.desc())
                .limit(1)
            )
            if row is not None:
                break
        if row is None:
            raise NotFound(f"team '{team}' has no stage policy yet", field="team")
        return _policy_record(row, team)


def policy_versions(ctx: Context, team: str) -> list[PolicyRecord]:
    """Every applied version of the team's policies (team-wide and per model), newest first."""
    with ctx.db.read() as session:
        team_row = team_by_name(session, team)
        ctx.require("policy.read", team_id=team_row.id)
        rows = session.scalars(
            select(p.StagePolicy)
            .where(p.StagePolicy.team_id == team_row.id)
            .order_by(p.StagePolicy.model_name, p.StagePolicy.version.desc())
        )
        return [_policy_record(row, team) for row in rows]


# --------------------------------------------------------------------------- gates


def check_gate(ctx: Context, ref: str, stage: str, *, reason: str = "") -> GateDecisionRecord:
    """Evaluate ``stage``'s gate for the version ``ref`` names and store the decision.

    A failing gate is a result, not an error: the decision is stored (event ``gate.failed``)
    and returned with ``passed`` false and each clause explained.
    """
    with ctx.db.transaction() as session:
        model, version = model_and_version(session, ref)
        ctx.require("gate.check", team_id=model.team_id, asset_id=model.asset_id)
        policy, stage_rule = stage_of(session, model, stage)
        row = decide_gate(session, ctx, model, version, policy, stage_rule)
        record = decision_record(row, model, version.version)
        record_change(
            session,
            ctx,
            action="gate.check",
            object_id=row.id,
            change={
                "model": model.name,
                "version": version.version,
                "stage": stage,
                "policy_version": policy.version,
                "passed": row.passed,
                "failed": [c["clause"] for c in record.failed_clauses],
            },
            reason=reason,
            event="gate.passed" if row.passed else "gate.failed",
        )
        return record
