"""Gate decisions: a stage's gate evaluated on a model version, stored with its lineage.

Used by the gate check (:mod:`andon.policy.service`) and by promotion
(:mod:`andon.policy.promotion`) inside their own transactions; they check permissions and audit.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from andon.core.context import Context
from andon.core.ids import new_id
from andon.lineage.service import link
from andon.policy import gates
from andon.policy.facts import gate_facts
from andon.policy.spec import Stage
from andon.store.tables import policy as p
from andon.store.tables import registry as r


def decide_gate(
    session: Session,
    ctx: Context,
    model: r.Model,
    version: r.ModelVersion,
    policy: p.StagePolicy,
    stage: Stage,
) -> p.GateDecision:
    """Evaluate ``stage``'s gate on ``version`` and add the decision with its lineage edges
    (inside the caller's transaction; the caller audits)."""
    facts, evaluation_id, _ = gate_facts(session, version)
    gate = stage.compiled_gate()
    clauses = [c.as_dict() for c in gates.explain(gate, facts)]
    now = ctx.clock.now()
    row = p.GateDecision(
        id=new_id("gate_decision"),
        model_version_id=version.id,
        stage=stage.name,
        policy_id=policy.id,
        policy_version=policy.version,
        gate=stage.gate,
        passed=all(c["passed"] for c in clauses),
        facts=facts,
        clauses=clauses,
        evaluation_id=evaluation_id,
        decided_by=ctx.principal.name,
        decided_at=now,
    )
    session.add(row)
    session.flush()
    link(
        session,
        src_id=version.id,
        src_kind="model_version",
        dst_id=row.id,
        dst_kind="gate_decision",
        relation="input",
        at=now,
    )
    if evaluation_id is not None:
        link(
            session,
            src_id=evaluation_id,
            src_kind="evaluation",
            dst_id=row.id,
            dst_kind="gate_decision",
            relation="input",
            at=now,
        )
    return row
