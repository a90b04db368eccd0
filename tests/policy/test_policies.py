"""Stage policies: versions, audit, a model's own policy, errors at save time, the cord."""

from __future__ import annotations

import pytest

from andon.audit import service as audit
from andon.board.service import board
from andon.core.errors import Conflict, Forbidden, Invalid, NotFound, Stopped
from andon.policy import approvals, cord, promotion
from andon.policy import service as policy
from tests.policy.conftest import Line, policy_yaml, snapshot


def test_each_changed_apply_is_a_new_audited_version(line: Line) -> None:
    first = policy.get_policy(line["vera"], "fraud-ml")
    assert first.version == 1 and first.stages["production"]["approvals"] == [
        "approver",
        "risk-owner",
    ]
    same = policy.apply_policy(line["hugo"], policy_yaml())
    assert (same.version, same.changed) == (1, False)
    second = policy.apply_policy(
        line["hugo"], policy_yaml(gate="eval.f1 >= 0.9"), reason="stricter"
    )
    assert second.version == 2 and second.applied_by == "hugo"
    assert policy.get_policy(line["vera"], "fraud-ml").version == 2
    entries = [e for e in audit.list_entries(line.admin) if e.action == "policy.apply"]
    assert len(entries) == 2 and entries[0].reason == "stricter"
    decision = policy.check_gate(line["alice"], line.ready(), "production")
    assert (decision.policy_version, decision.passed) == (2, False)


def test_a_models_own_policy_wins(line: Line) -> None:
    ref = line.ready()
    own = policy.apply_policy(line["hugo"], policy_yaml(gate="eval.f1 >= 0.99", model="fraud"))
    assert own.model == "fraud" and own.version == 1
    assert policy.get_policy(line["vera"], "fraud-ml", model="fraud").model == "fraud"
    assert policy.get_policy(line["vera"], "fraud-ml", model="other").model is None
    assert not policy.check_gate(line["alice"], ref, "production").passed
    other = line.ready("other")
    assert policy.check_gate(line["alice"], other, "production").passed
    assert len(policy.policy_versions(line["vera"], "fraud-ml")) == 2


BAD_POLICIES = [
    (policy_yaml(gate="eval.f11 >= 0.8"), "stages.production.gate", "unknown fact 'eval.f11'"),
    (policy_yaml(gate="eval.f1 == 'x'"), "stages.production.gate", "compares a number"),
    (policy_yaml(gate="eval.f1 && true"), "stages.production.gate", "'&&' needs a bool"),
    (policy_yaml(approvals=("viewer",)), "stages.production.approvals", "cannot decide"),
    (policy_yaml(approvals=("approver", "approver")), "stages.production.approvals", "once"),
    (policy_yaml(expires="3 weeks"), "stages.production.expires", "not a duration"),
    (policy_yaml(expires="31d"), "stages.production.expires", "at most 30d"),
    (
        policy_yaml().replace("slo.p95_ms > 120", "slo.p95 > 120"),
        "stages.production.rollback.when",
        "unknown fact 'slo.p95'",
    ),
    ("team: fraud-ml\nstages: {}\n", "stages", "at least one stage"),
    ("stages: [", "policy", "not valid YAML"),
    ("team: fraud-ml\nstages:\n  Prod!: {gate: 'true'}\n", "stages.Prod!", "stage name"),
]
"""(policy text, field, message) the apply must refuse with."""


def test_bad_policies_are_refused_when_saved(line: Line) -> None:
    before = snapshot(line.admin)
    for text, field, message in BAD_POLICIES:
        with pytest.raises(Invalid) as caught:
            policy.apply_policy(line["hugo"], text)
        assert caught.value.field == field and message in caught.value.message, text
    assert snapshot(line.admin) == before


def test_who_may_apply_and_unknown_team(line: Line) -> None:
    with pytest.raises(Forbidden):
        policy.apply_policy(line["alice"], policy_yaml(gate="true"))
    with pytest.raises(NotFound, match="no team named 'nope'"):
        policy.apply_policy(line["hugo"], policy_yaml(team="nope"))


def test_unknown_model_version_and_stage(line: Line) -> None:
    ref = line.ready()
    before = snapshot(line.admin)
    with pytest.raises(NotFound, match="no model named 'ghost'"):
        promotion.promote(line["alice"], "ghost@1", "production")
    with pytest.raises(NotFound, match="has no version 9"):
        promotion.promote(line["alice"], "fraud@9", "production")
    with pytest.raises(Invalid, match="'canary' is not a stage"):
        promotion.promote(line["alice"], ref, "canary")
    with pytest.raises(Invalid, match="must name a version"):
        policy.check_gate(line["alice"], "fraud", "production")
    assert snapshot(line.admin) == before


def test_the_andon_cord_stops_promotion(line: Line) -> None:
    ref = line.ready()
    req = approvals.request_approval(line["alice"], ref, "production")
    approvals.decide_approval(line["gita"], req.id, "approve", role="approver", reason="ok")
    approvals.decide_approval(line["hugo"], req.id, "approve", role="risk-owner", reason="ok")
    pulled = cord.pull_cord(line["gita"], "fraud", reason="drift alarm on retail")
    assert pulled.pulled and pulled.changed_by == "gita"
    lights = {light.area: light for light in board(line["vera"])}
    assert lights["andon cords"].color == "red" and "fraud" in lights["andon cords"].detail
    before = snapshot(line.admin)
    with pytest.raises(Stopped, match="pulled by gita: drift alarm on retail"):
        promotion.promote(line["alice"], ref, "production")
    with pytest.raises(Conflict, match="already pulled"):
        cord.pull_cord(line["alice"], "fraud", reason="me too")
    with pytest.raises(Forbidden, match=r"cord\.release"):
        cord.release_cord(line["alice"], "fraud", reason="I want to ship")
    with pytest.raises(Invalid):
        cord.release_cord(line["hugo"], "fraud", reason="")
    assert snapshot(line.admin) == before
    cord.release_cord(line["hugo"], "fraud", reason="drift explained: seasonal")
    assert [c.pulled for c in cord.cord_status(line["vera"])] == [False]
    assert {light.area: light.color for light in board(line["vera"])}["andon cords"] == "green"
    assert promotion.promote(line["alice"], ref, "production").to_version == 1


def test_a_team_cord_stops_every_model_of_the_team(line: Line) -> None:
    ref = line.ready()
    req = approvals.request_approval(line["alice"], ref, "production")
    approvals.decide_approval(line["gita"], req.id, "approve", role="approver", reason="ok")
    approvals.decide_approval(line["hugo"], req.id, "approve", role="risk-owner", reason="ok")
    pulled = cord.pull_line_cord(line["gita"], "fraud-ml", reason="feature store outage")
    assert (pulled.scope, pulled.target, pulled.pulled) == ("team", "fraud-ml", True)
    detail = {light.area: light for light in board(line["vera"])}["andon cords"].detail
    assert "team fraud-ml (feature store outage)" in detail
    with pytest.raises(Stopped, match="of team 'fraud-ml' is pulled by gita") as stopped:
        promotion.promote(line["alice"], ref, "production")
    assert stopped.value.details["hint"] == "release it with `andon cord release --team fraud-ml`"
    with pytest.raises(Conflict, match="already pulled"):
        cord.pull_line_cord(line["alice"], "fraud-ml", reason="me too")
    with pytest.raises(Forbidden, match=r"cord\.release"):
        cord.release_line_cord(line["alice"], "fraud-ml", reason="I want to ship")
    # A team-scoped binding cannot stop the whole line: that takes a global one.
    with pytest.raises(Forbidden, match=r"cord\.pull"):
        cord.pull_line_cord(line["gita"], None, reason="everything")
    released = cord.release_line_cord(line["hugo"], "fraud-ml", reason="outage over")
    assert not released.pulled
    assert promotion.promote(line["alice"], ref, "production").to_version == 1
    actions = [e.action for e in audit.list_entries(line.admin) if e.action.startswith("cord.")]
    assert actions[:2] == ["cord.release", "cord.pull"]


def test_releasing_the_whole_line_takes_two_principals(line: Line) -> None:
    from andon.auth import service as auth
    from tests.conftest import as_principal

    for name in ("rita", "omar"):
        auth.create_principal(line.admin, name)
        auth.bind_role(line.admin, name, "risk-owner")
    rita, omar = as_principal(line.admin, "rita"), as_principal(line.admin, "omar")
    ref = line.ready()
    cord.pull_line_cord(rita, None, reason="incident 42")
    with pytest.raises(Stopped, match="of every team is pulled by rita: incident 42"):
        promotion.promote(line["alice"], ref, "staging")
    asked = cord.release_line_cord(rita, None, reason="mitigated")
    assert asked.pulled and asked.release_requested_by == "rita"
    again = cord.release_line_cord(rita, None, reason="really mitigated")
    assert again.pulled, "the same principal asking twice does not release the line"
    with pytest.raises(Stopped):
        promotion.promote(line["alice"], ref, "staging")
    done = cord.release_line_cord(omar, None, reason="confirmed with the on-call")
    assert not done.pulled and done.release_requested_by is None
    assert promotion.promote(line["alice"], ref, "staging").to_version == 1
    entries = [e for e in audit.list_entries(line.admin) if e.object_id == "cord:all:*"]
    assert [(e.action, e.actor) for e in reversed(entries)] == [
        ("cord.pull", "rita"),
        ("cord.release_request", "rita"),
        ("cord.release_request", "rita"),
        ("cord.release", "omar"),
    ]
    # Whoever must complete a release hears of the request: each one is an event.
    from sqlalchemy import select

    from andon.store.tables import events as events_tables

    with line.admin.db.read() as session:
        emitted = session.scalars(
            select(events_tables.OutboxEvent.type)
            .where(events_tables.OutboxEvent.object_id == "cord:all:*")
            .order_by(events_tables.OutboxEvent.seq)
        ).all()
    assert emitted == [
        "andon.pulled",
        "andon.release_requested",
        "andon.release_requested",
        "andon.released",
    ]
    status = [c for c in cord.cord_status(line["vera"]) if c.scope == "all"]
    assert [(c.target, c.pulled) for c in status] == [("*", False)]
