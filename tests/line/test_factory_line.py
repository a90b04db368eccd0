"""The whole factory line through the real services, as `make demo` runs it: sample data and
training, the evaluation harness, a card, the CEL gate, four-eyes approvals, promotion,
rollback and lineage coverage. No row is inserted by hand: every fact a gate reads was produced
by the service that owns it."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon import demo
from andon.cards import narrative as cards
from andon.cards import service as cards_service
from andon.core.context import Context
from andon.core.errors import Forbidden, GateFailed
from andon.evaluate import service as evaluate
from andon.lineage import coverage
from andon.policy import approvals, promotion
from andon.policy import service as policy
from andon.policy.sample import sample_policy
from andon.registry import sample
from andon.registry import service as registry
from tests.conftest import as_principal

NARRATIVE = {
    "purpose": "Flags card-not-present payments for review.",
    "intended_users": "Fraud operations analysts.",
    "limitations": "Synthetic training data.",
    "risks": "False positives delay honest customers.",
}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_line_from_sample_data_to_rollback(admin: Context, tmp_path: Path) -> None:
    demo.seed(admin)
    trained = sample.train(admin, team="fraud-ml", workdir=tmp_path)
    assert trained.checks_passed and trained.suite is not None
    fair, biased = "fraud-detector@2", "fraud-detector@3"
    for ref in (fair, biased):
        report = evaluate.run_evaluation(admin, ref, trained.suite)
        assert report.champion_version == 1
    policy.apply_policy(admin, sample_policy("fraud-ml"))

    # An incomplete card alone keeps the fair challenger out, and the explanation says so.
    blocked = policy.check_gate(admin, fair, "production")
    assert not blocked.passed
    assert [c["clause"] for c in blocked.clauses if not c["passed"]] == ["card.complete"]
    for section, text in NARRATIVE.items():
        cards.edit_section(admin, "fraud-detector@1", section, text)  # carries forward

    # The biased challenger fails exactly the bias clause; the fair one passes.
    refused = policy.check_gate(admin, biased, "production")
    failing = [c["clause"] for c in refused.clauses if not c["passed"]]
    assert failing == ["eval.bias.demographic_parity_diff <= 0.1"]
    assert policy.check_gate(admin, fair, "production").passed

    # Promotion waits for an approver and a risk-owner other than the requester.
    with pytest.raises(GateFailed, match="approval"):
        promotion.promote(admin, fair, "production")
    request = approvals.request_approval(admin, fair, "production", reason="better F1")
    with pytest.raises(Forbidden):
        approvals.decide_approval(admin, request.id, "approve", role="approver", reason="mine")
    gita, hugo = as_principal(admin, "gita"), as_principal(admin, "hugo")
    approvals.decide_approval(gita, request.id, "approve", role="approver", reason="reviewed")
    approvals.decide_approval(hugo, request.id, "approve", role="risk-owner", reason="fair")
    promoted = promotion.promote(admin, fair, "production", reason="challenger wins")
    assert (promoted.from_version, promoted.to_version) == (1, 2)
    assert registry.get_version(admin, "fraud-detector@champion").version == 2

    # The card of the promoted version carries its evaluation and both approvals.
    card = cards_service.model_card(admin, fair).as_dict()
    assert card["completeness"]["complete"] is True
    assert sorted(a["role"] for a in card["approvals"]) == ["approver", "risk-owner"]

    # Coverage: version 2 is explained end to end; version 1 (crowned by the sample script,
    # never promoted) lacks the evaluation-to-promotion half of its chain.
    explained = {v.version: v for v in coverage.coverage(admin).versions}
    assert explained[2].missing == []
    assert "promotion" in explained[1].missing

    back = promotion.rollback(admin, "fraud-detector", "production", reason="p95 regression")
    assert (back.from_version, back.to_version) == (2, 1)
    assert registry.get_version(admin, "fraud-detector@champion").version == 1

    # Training the sample again under the policy registers new versions but crowns none: the
    # stage aliases now move only by promotion.
    again = sample.train(admin, team="fraud-ml", workdir=tmp_path / "again")
    assert again.champion == "" and again.versions["baseline"] == 4
    assert registry.get_version(admin, "fraud-detector@champion").version == 1
