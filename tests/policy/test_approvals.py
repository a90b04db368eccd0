"""Four eyes: self-approval, one person in two roles, role holding, expiry, reasons."""

from __future__ import annotations

import pytest

from andon.auth import service as auth
from andon.core.clock import FrozenClock
from andon.core.errors import Conflict, Forbidden, GateFailed, Invalid, NotFound
from andon.policy import approvals, promotion
from andon.policy import service as policy
from andon.store.tables import policy as p
from tests.conftest import as_principal
from tests.policy.conftest import Line, policy_yaml, snapshot


def test_requester_cannot_approve_own_request(line: Line) -> None:
    ref = line.ready()
    # gita is an approver and may request too once she holds a shipping role.
    auth.bind_role(line.admin, "gita", "contributor", scope="team", target="fraud-ml")
    gita = as_principal(line.admin, "gita")
    req = approvals.request_approval(gita, ref, "production")
    before = snapshot(line.admin)
    with pytest.raises(Forbidden, match="four eyes: gita requested"):
        approvals.decide_approval(gita, req.id, "approve", role="approver", reason="mine")
    assert snapshot(line.admin) == before


def test_one_person_cannot_fill_two_roles(line: Line) -> None:
    auth.bind_role(line.admin, "gita", "risk-owner", scope="team", target="fraud-ml")
    gita = as_principal(line.admin, "gita")
    req = approvals.request_approval(line["alice"], line.ready(), "production")
    approvals.decide_approval(gita, req.id, "approve", role="approver", reason="ok")
    before = snapshot(line.admin)
    with pytest.raises(Forbidden, match="one person cannot fill two roles"):
        approvals.decide_approval(gita, req.id, "approve", role="risk-owner", reason="also ok")
    assert snapshot(line.admin) == before


def test_the_decider_must_hold_the_role(line: Line) -> None:
    req = approvals.request_approval(line["alice"], line.ready(), "production")
    before = snapshot(line.admin)
    with pytest.raises(Forbidden, match="does not hold the role 'risk-owner'"):
        approvals.decide_approval(line["gita"], req.id, "approve", role="risk-owner", reason="x")
    with pytest.raises(Forbidden, match=r"lacks permission 'approval\.decide'"):
        approvals.decide_approval(line["vera"], req.id, "approve", role="approver", reason="x")
    with pytest.raises(Invalid, match="needs approver, risk-owner, not 'viewer'"):
        approvals.decide_approval(line["gita"], req.id, "approve", role="viewer", reason="x")
    with pytest.raises(Invalid) as no_reason:
        approvals.decide_approval(line["gita"], req.id, "reject", role="approver", reason=" ")
    assert no_reason.value.field == "reason"
    with pytest.raises(NotFound):
        approvals.decide_approval(line["gita"], "areq_nope", "approve", role="approver", reason="x")
    assert snapshot(line.admin) == before
    approvals.decide_approval(line["gita"], req.id, "approve", role="approver", reason="ok")
    with pytest.raises(Conflict, match="already filled"):
        approvals.decide_approval(line["chen"], req.id, "approve", role="approver", reason="me too")


def test_requests_expire_and_cannot_be_decided_or_used(line: Line) -> None:
    clock = line.admin.clock
    assert isinstance(clock, FrozenClock)
    ref = line.ready()
    req = approvals.request_approval(line["alice"], ref, "production")
    assert (req.expires_at - req.requested_at).total_seconds() == 72 * 3600
    approvals.decide_approval(line["gita"], req.id, "approve", role="approver", reason="ok")
    clock.advance(hours=72)
    before = snapshot(line.admin)
    with pytest.raises(Conflict, match="expired"):
        approvals.decide_approval(line["hugo"], req.id, "approve", role="risk-owner", reason="ok")
    assert approvals.list_requests(line["vera"], status="expired")[0].id == req.id
    with pytest.raises(GateFailed, match=f"approval request {req.id} expired"):
        promotion.promote(line["alice"], ref, "production")
    assert snapshot(line.admin) == before
    # A new request can be made once the old one expired.
    again = approvals.request_approval(line["alice"], ref, "production")
    assert again.status == "pending"


def test_an_approved_request_expires_too(line: Line) -> None:
    clock = line.admin.clock
    assert isinstance(clock, FrozenClock)
    ref = line.ready()
    req = approvals.request_approval(line["alice"], ref, "production")
    approvals.decide_approval(line["gita"], req.id, "approve", role="approver", reason="ok")
    approvals.decide_approval(line["hugo"], req.id, "approve", role="risk-owner", reason="ok")
    clock.advance(hours=73)
    with pytest.raises(GateFailed, match="expired"):
        promotion.promote(line["alice"], ref, "production")


def test_reject_closes_the_request(line: Line) -> None:
    ref = line.ready()
    req = approvals.request_approval(line["alice"], ref, "production")
    done = approvals.decide_approval(
        line["hugo"], req.id, "reject", role="risk-owner", reason="bias unexplained"
    )
    assert done.status == "rejected"
    with pytest.raises(Conflict, match="already rejected"):
        approvals.decide_approval(line["gita"], req.id, "approve", role="approver", reason="ok")
    with pytest.raises(GateFailed, match="was rejected"):
        promotion.promote(line["alice"], ref, "production")


def test_requests_need_a_stage_with_approvals(line: Line) -> None:
    ref = line.ready()
    with pytest.raises(Invalid, match="requires no approvals"):
        approvals.request_approval(line["alice"], ref, "staging")
    with pytest.raises(Invalid, match="'prod' is not a stage of policy v1"):
        approvals.request_approval(line["alice"], ref, "prod")
    approvals.request_approval(line["alice"], ref, "production")
    with pytest.raises(Conflict, match="still open"):
        approvals.request_approval(line["alice"], ref, "production")


def test_expiry_comes_from_the_policy(line: Line) -> None:
    policy.apply_policy(line.admin, policy_yaml(expires="30m"))
    req = approvals.request_approval(line["alice"], line.ready(), "production")
    assert (req.expires_at - req.requested_at).total_seconds() == 1800 and req.policy_version == 2
    with line.admin.db.read() as session:
        assert session.get(p.ApprovalRequest, req.id) is not None
