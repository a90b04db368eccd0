"""The permission table and scope matching, without a database."""

from __future__ import annotations

from typing import Any, cast

import pytest

from andon.core.config import Settings
from andon.core.context import SYSTEM, Context, Principal, iter_scopes
from andon.core.errors import Forbidden
from andon.core.permissions import (
    ACTIONS,
    PERMISSIONS,
    RESERVED_ACTIONS,
    ROLES,
    TEAM_OWNER,
    Grant,
    allows,
    allows_somewhere,
)

READS = {
    "team.read",
    "principal.read",
    "binding.read",
    "asset.read",
    "audit.read",
    "events.read",
    "status.read",
    "run.read",
    "model.read",
    "lineage.read",
    "contract.read",
    "dataset.read",
    "policy.read",
    "endpoint.read",
    "telemetry.read",
}
REGISTRY_WRITES = {"run.create", "model.register", "model.alias", "model.card"}
# Shipping what the team owns: evaluate, check the gate, ask for approvals, promote, roll back.
SHIPPING = {"eval.run", "gate.check", "approval.request", "model.promote", "model.rollback"}
DATA_WRITES = {"contract.apply", "check.run", "dataset.snapshot"}
ADMINISTRATION = {
    "principal.create",
    "principal.disable",
    "binding.create",
    "binding.delete",
    "token.create",
    "token.revoke",
    "team.create",
}


def test_the_issue_roles_exist() -> None:
    assert set(ROLES) == {
        "viewer",
        "contributor",
        "data-steward",
        "approver",
        "platform-admin",
        "risk-owner",
        "agent",
        "caller",
        "gateway",
    }
    assert set(PERMISSIONS) == set(ROLES) | {TEAM_OWNER}
    assert TEAM_OWNER not in ROLES


def test_every_bound_role_reads_and_only_the_admin_administers() -> None:
    # A caller is an application's key: it sees the endpoints it calls and sends the
    # application's own telemetry, nothing else.
    assert PERMISSIONS["caller"] == {"endpoint.read", "endpoint.invoke", "telemetry.write"}
    # The gateway's own principal records guard violations (and so pulls a tripped cord).
    assert PERMISSIONS["gateway"] == {"endpoint.guard"}
    for role in set(ROLES) - {"caller", "gateway"}:
        assert PERMISSIONS[role] >= READS, role
        if role != "platform-admin":
            assert not PERMISSIONS[role] & ADMINISTRATION, role
    assert PERMISSIONS["platform-admin"] >= ADMINISTRATION


def test_roles_carry_what_their_jobs_need_and_no_more() -> None:
    extra = {role: set(PERMISSIONS[role]) - READS for role in set(ROLES) - {"caller", "gateway"}}
    assert {r for r in ROLES if "endpoint.guard" in PERMISSIONS[r]} == {"gateway"}
    assert extra["viewer"] == set()
    assert extra["agent"] == set(), "an agent writes only through approval-gated tools"
    assert extra["contributor"] - REGISTRY_WRITES - DATA_WRITES - SHIPPING == {
        "asset.register",
        "cord.pull",
        "endpoint.apply",
        "endpoint.deploy",
        "endpoint.invoke",
        "telemetry.write",
        "telemetry.sampling",
    }
    # Sending telemetry: the team's contributors, its applications and the admin. Which
    # values are kept unmasked is the steward's call alone; retention is the admin's.
    assert {r for r in ROLES if "telemetry.write" in PERMISSIONS[r]} == {
        "contributor",
        "platform-admin",
        "caller",
    }
    assert {r for r in ROLES if "telemetry.unmask" in PERMISSIONS[r]} == {"data-steward"}
    assert {r for r in ROLES if "telemetry.retain" in PERMISSIONS[r]} == {"platform-admin"}
    # Declaring and calling endpoints and recording what they serve: the team's contributors
    # and the admin, plus callers (calling only).
    for action in ("endpoint.apply", "endpoint.deploy"):
        assert {r for r in ROLES if action in PERMISSIONS[r]} == {
            "contributor",
            "platform-admin",
        }, action
    assert {r for r in ROLES if "endpoint.invoke" in PERMISSIONS[r]} == {
        "contributor",
        "platform-admin",
        "caller",
    }
    assert extra["data-steward"] - DATA_WRITES == {
        "asset.register",
        "contract.approve",
        "data.classify",
        "catalog.decide",
        "cord.pull",
        "telemetry.unmask",
    }
    # An approver sees the evidence first-hand and can stop the line, nothing more.
    assert extra["approver"] == {"approval.decide", "gate.check", "cord.pull"}
    assert extra["risk-owner"] == {
        "approval.decide",
        "audit.verify",
        "audit.anchor",
        "team.escalation",
        "policy.apply",
        "gate.check",
        "model.rollback",
        "cord.pull",
        "cord.release",
    }
    # Checking and anchoring the audit chain: the risk owner and the admin, nobody else.
    assert {r for r in ROLES if "audit.anchor" in PERMISSIONS[r]} == {
        "risk-owner",
        "platform-admin",
    }
    # Nobody who can approve a promotion can promote: four eyes by construction.
    assert all(not {"approval.decide", "model.promote"} <= PERMISSIONS[role] for role in ROLES)
    # Separation of duties: the admin runs the platform but approves nothing.
    assert not PERMISSIONS["platform-admin"] & {
        "approval.decide",
        "contract.approve",
        "data.classify",
        "catalog.decide",
    }


def test_contributors_track_and_register_and_only_the_admin_trusts_pickles() -> None:
    for role in ROLES:
        held = PERMISSIONS[role] & (REGISTRY_WRITES | {"model.trust_pickle"})
        expected = {
            "contributor": REGISTRY_WRITES,
            "platform-admin": REGISTRY_WRITES | {"model.trust_pickle"},
        }.get(role, set())
        assert held == expected, role


def test_data_work_is_for_contributors_stewards_and_admins() -> None:
    for role in ROLES:
        held = PERMISSIONS[role] & DATA_WRITES
        expected = (
            DATA_WRITES if role in {"contributor", "data-steward", "platform-admin"} else set()
        )
        assert held == expected, role


def test_team_owners_keep_their_team_current_but_grant_nothing() -> None:
    assert PERMISSIONS[TEAM_OWNER] == {
        "team.read",
        "asset.read",
        "binding.read",
        "team.update",
        "team.oncall",
    }


def test_actions() -> None:
    assert frozenset().union(*PERMISSIONS.values()) == ACTIONS
    assert RESERVED_ACTIONS <= ACTIONS
    assert all(action.count(".") >= 1 and action == action.lower() for action in ACTIONS)


@pytest.mark.parametrize(
    ("grant", "team_id", "asset_id", "covered"),
    [
        (Grant("viewer", "global"), None, None, True),
        (Grant("viewer", "global"), "team_a", "asset_1", True),
        (Grant("viewer", "team", "team_a"), "team_a", None, True),
        (Grant("viewer", "team", "team_a"), "team_a", "asset_1", True),  # an asset of the team
        (Grant("viewer", "team", "team_a"), "team_b", None, False),
        (Grant("viewer", "team", "team_a"), None, None, False),  # a global object
        (Grant("viewer", "asset", "asset_1"), "team_a", "asset_1", True),
        (Grant("viewer", "asset", "asset_1"), "team_a", "asset_2", False),
        (Grant("viewer", "asset", "asset_1"), "team_a", None, False),  # the team itself
        (Grant("viewer", "asset", "asset_1"), None, None, False),
    ],
)
def test_scopes(grant: Grant, team_id: str | None, asset_id: str | None, covered: bool) -> None:
    assert grant.covers(team_id, asset_id) is covered


def test_allows_needs_the_action_and_the_scope() -> None:
    grants = (Grant("viewer", "global"), Grant("contributor", "team", "team_a"))
    assert allows(grants, "team.read", "team_b", None)
    assert allows(grants, "asset.register", "team_a", None)
    assert not allows(grants, "asset.register", "team_b", None)
    assert not allows(grants, "asset.register", None, None)
    assert not allows(grants, "team.create", None, None)
    assert allows_somewhere(grants, "asset.register")
    assert not allows_somewhere(grants, "team.create")
    assert not allows((), "team.read", None, None)
    # A role the table does not know (say, from a newer database) grants nothing.
    assert not allows((Grant("emperor", "global"),), "team.read", None, None)
    assert not allows_somewhere((Grant("emperor", "global"),), "team.read")


def _ctx(principal: Principal, *grants: Grant) -> Context:
    return Context(db=cast(Any, None), settings=Settings(), principal=principal, grants=grants)


def test_context_checks() -> None:
    bob = Principal("principal_1", "bob", "user")
    ctx = _ctx(bob, Grant("contributor", "team", "team_a"))
    ctx.require("asset.register", team_id="team_a")
    ctx.require_somewhere("asset.register")
    with pytest.raises(Forbidden) as err:
        ctx.require("asset.register", team_id="team_b")
    assert err.value.details == {"action": "asset.register"}
    assert "in team team_b" in str(err.value)
    with pytest.raises(Forbidden, match="on asset asset_9"):
        ctx.require("asset.register", team_id="team_b", asset_id="asset_9")
    with pytest.raises(Forbidden):
        ctx.require_somewhere("team.create")
    assert list(iter_scopes(ctx.grants)) == ["contributor@team:team_a"]


def test_only_the_system_object_itself_is_privileged() -> None:
    assert _ctx(SYSTEM).can("team.create")
    _ctx(SYSTEM).require_somewhere("audit.verify")
    impostor = Principal(SYSTEM.id, SYSTEM.name, SYSTEM.kind)
    assert impostor == SYSTEM
    assert not _ctx(impostor).can("team.create")
    with pytest.raises(Forbidden):
        _ctx(impostor).require_somewhere("team.read")
