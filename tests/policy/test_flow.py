"""The line end to end on both backends: gate, approvals, promotion, rollback, lineage."""

from __future__ import annotations

import pytest

from andon.core.errors import Conflict, Forbidden, GateFailed
from andon.events import service as events
from andon.policy import approvals, promotion
from andon.policy import service as policy
from andon.registry import service as registry
from andon.store.tables import lineage as r
from tests.policy.conftest import GOOD, Line, snapshot


def _approve(line: Line, ref: str) -> str:
    req = approvals.request_approval(line["alice"], ref, "production", reason="ship it")
    approvals.decide_approval(line["gita"], req.id, "approve", role="approver", reason="metrics ok")
    done = approvals.decide_approval(
        line["hugo"], req.id, "approve", role="risk-owner", reason="bias ok"
    )
    assert done.status == "approved" and done.missing_roles == []
    return req.id


def test_gate_pass_approvals_promote_and_rollback(line: Line) -> None:
    first = line.ready()
    decision = policy.check_gate(line["alice"], first, "production")
    assert decision.passed and decision.policy_version == 1
    assert decision.facts["eval.f1"] == 0.86 and decision.facts["has_champion"] is False
    assert decision.facts["champion.f1"] == 0.86  # no champion: the candidate stands in
    assert all(c["passed"] for c in decision.clauses) and len(decision.clauses) == 4

    _approve(line, first)
    done = promotion.promote(line["alice"], first, "production", reason="first champion")
    assert (done.alias, done.from_version, done.to_version) == ("champion", None, 1)
    assert registry.get_version(line.admin, "fraud@champion").version == 1

    second = line.ready(metrics={**GOOD, "f1": 0.88})
    _approve(line, second)
    promotion.promote(line["alice"], second, "production")
    assert registry.get_version(line.admin, "fraud@champion").version == 2

    back = promotion.rollback(line["hugo"], "fraud", "production", reason="p95 regression")
    assert (back.kind, back.from_version, back.to_version) == ("rollback", 2, 1)
    assert registry.get_version(line.admin, "fraud@champion").version == 1
    history = promotion.promotions(line["vera"], "fraud", stage="production")
    assert [h.kind for h in history] == ["rollback", "promote", "promote"]

    before = snapshot(line.admin)
    with pytest.raises(Conflict, match="nothing to roll back to"):
        promotion.rollback(line["hugo"], "fraud", "production", reason="again")
    assert snapshot(line.admin) == before

    types = [ev.type for ev in events.list_events(line.admin, limit=500)]
    assert "deployment.promoted" in types and "deployment.rolled_back" in types
    assert "gate.passed" in types and "approval.approved" in types


def test_promotion_lineage_edges(line: Line) -> None:
    ref = line.ready()
    request_id = _approve(line, ref)
    done = promotion.promote(line["alice"], ref, "production")
    version = registry.get_version(line.admin, ref)
    with line.admin.db.read() as session:
        from sqlalchemy import select

        edges = set(
            session.execute(
                select(r.LineageEdge.src_kind, r.LineageEdge.dst_kind, r.LineageEdge.dst_id)
            ).all()
        )
    kinds = {(src, dst) for src, dst, dst_id in edges if dst_id == done.id}
    assert kinds == {
        ("model_version", "promotion"),
        ("gate_decision", "promotion"),
        ("approval", "promotion"),
    }
    assert ("model_version", "gate_decision") in {(s, d) for s, d, _ in edges}
    assert ("evaluation", "gate_decision") in {(s, d) for s, d, _ in edges}
    assert ("model_version", "approval") in {(s, d) for s, d, _ in edges}
    assert done.request_id == request_id and version.version == 1
    assert approvals.list_requests(line["vera"], status="used")[0].id == request_id


def test_promotion_refusals_change_nothing(line: Line) -> None:
    ref = line.model()  # no evaluation, no card, no approvals
    before = snapshot(line.admin)
    with pytest.raises(GateFailed) as failed:
        promotion.promote(line["alice"], ref, "production")
    message = str(failed.value)
    assert "approvals missing: approver, risk-owner" in message
    assert "gate failed" in message and "eval.f1 has no value" in message
    assert "card.complete" in message
    assert snapshot(line.admin) == before
    assert "\n" not in message


def test_failing_gate_explains_each_clause(line: Line) -> None:
    champion = line.ready()
    _approve(line, champion)
    promotion.promote(line["alice"], champion, "production")
    worse = line.model()
    line.complete_card(worse)
    biased = {**GOOD, "f1": 0.80, "bias": {"demographic_parity_diff": 0.25}}
    line.add_evaluation(worse, biased, champion=champion, champion_metrics=GOOD)
    decision = policy.check_gate(line["alice"], worse, "production")
    assert not decision.passed
    failed = {c["clause"]: c for c in decision.failed_clauses}
    assert set(failed) == {
        "eval.f1 >= champion.f1 - 0.01",
        "eval.bias.demographic_parity_diff <= 0.1",
    }
    assert failed["eval.f1 >= champion.f1 - 0.01"]["values"] == {
        "champion.f1": 0.86,
        "eval.f1": 0.80,
    }
    assert decision.facts["has_champion"] is True
    assert decision.facts["delta.f1"] == pytest.approx(-0.06)
    # The decision is stored with its policy version and facts.
    types = [ev.type for ev in events.list_events(line.admin, limit=500)]
    assert "gate.failed" in types


def test_a_stage_alias_moves_only_by_promotion(line: Line) -> None:
    """The policy's stage aliases (champion, challenger) are closed to plain alias moves, for
    everyone, the platform admin included; other aliases still move freely."""
    first = line.ready()
    _approve(line, first)
    promotion.promote(line["alice"], first, "production")
    second = line.model()
    before = snapshot(line.admin)
    for who in (line["alice"], line.admin):
        with pytest.raises(
            Forbidden, match=r"stage 'production'.*only when a version is promoted"
        ) as refused:
            registry.set_alias(who, second, "champion")
        assert "andon model promote" in refused.value.details["hint"]
        with pytest.raises(Forbidden, match="stage 'staging'"):
            registry.set_alias(who, second, "challenger")
    assert snapshot(line.admin) == before
    moved = registry.set_alias(line["alice"], second, "shadow")
    assert (moved.alias, moved.version) == ("shadow", 2)
    assert registry.get_version(line.admin, "fraud@champion").version == 1
