"""Deployments of model endpoints on the fraud-ml line: a promotion, another, a rollback, each
recorded once with its cause, audited, with lineage edges; applying records the first; who may."""

from __future__ import annotations

import pytest

from andon.audit import service as audit
from andon.core.context import Context
from andon.core.errors import Forbidden, NotFound
from andon.lineage import service as lineage
from andon.policy import promotion
from andon.registry import service as registry
from andon.serve import service as serve
from andon.serve.queries import current_deployments, load_snapshot
from tests.policy.conftest import PEOPLE, TEAM, Line, line  # noqa: F401  (the line fixture)


def endpoint_yaml(alias: str = "challenger", name: str = "fraud-scorer") -> str:
    return f"name: {name}\nteam: {TEAM}\nkind: model\nmodel: fraud\nalias: {alias}\n"


def deploys(admin: Context) -> list[dict[str, object]]:
    return [e.change for e in audit.list_entries(admin) if e.action == "endpoint.deploy"]


def test_promotions_and_a_rollback_each_record_one_deployment(line: Line) -> None:  # noqa: F811
    alice, admin = line["alice"], line.admin
    first, second = line.model(), line.model()
    endpoint = serve.apply_endpoint(alice, endpoint_yaml())
    assert serve.list_deployments(alice, "fraud-scorer") == []  # the alias is not set yet
    assert serve.sync_deployments(alice) == []

    p1 = promotion.promote(alice, first, "staging", reason="first cut")
    [d1] = serve.sync_deployments(alice)
    assert (d1.endpoint, d1.endpoint_id, d1.team) == ("fraud-scorer", endpoint.id, TEAM)
    assert (d1.model, d1.alias, d1.version, d1.from_version) == ("fraud", "challenger", 1, None)
    assert (d1.cause, d1.promotion_id, d1.recorded_by) == ("promote", p1.id, "alice")
    v1, v2 = registry.get_version(admin, first), registry.get_version(admin, second)
    assert (d1.model_version_id, d1.artifact_digest) == (v1.id, v1.digest)
    promote_entry = next(e for e in audit.list_entries(admin) if e.action == "model.promote")
    assert d1.cause_audit_id == promote_entry.id
    assert serve.sync_deployments(alice) == []  # idempotent: nothing moved

    p2 = promotion.promote(alice, second, "staging")
    [d2] = serve.sync_deployments(alice, "fraud-scorer")
    assert (d2.version, d2.from_version, d2.cause, d2.promotion_id) == (2, 1, "promote", p2.id)
    back = promotion.rollback(line["hugo"], "fraud", "staging", reason="worse on review")
    [d3] = serve.sync_deployments(alice)
    assert (d3.version, d3.from_version, d3.cause) == (1, 2, "rollback")
    assert d3.promotion_id == back.id  # the newest move to v1, not the first promotion
    assert serve.sync_deployments(admin) == []
    # Moved away and back between two syncs: the endpoint served v1 throughout, as recorded.
    promotion.promote(alice, second, "staging")
    promotion.rollback(line["hugo"], "fraud", "staging", reason="again")
    assert serve.sync_deployments(alice) == []

    history = serve.list_deployments(line["vera"], "fraud-scorer")
    assert [(d.id, d.version) for d in history] == [(d3.id, 1), (d2.id, 2), (d1.id, 1)]
    assert current_deployments(admin.db)["fraud-scorer"] == d3
    assert load_snapshot(admin.db).bindings["fraud-scorer"].model_version_id == (
        d3.model_version_id
    )

    changes = deploys(admin)
    assert [(c["version"], c["from_version"], c["cause"]) for c in changes] == [
        (1, 2, "rollback"),
        (2, 1, "promote"),
        (1, None, "promote"),
    ]
    entry = next(e for e in audit.list_entries(admin) if e.action == "endpoint.deploy")
    assert entry.object_id == d3.id and entry.actor == "alice"

    graph = lineage.graph(admin, d3.id, direction="both", depth=1)
    edges = {(e.src, e.relation, e.dst) for e in graph.edges}
    asset = next(a.id for a in _assets(admin) if a.name == "fraud-scorer")
    assert edges == {
        (v1.id, "input", d3.id),
        (back.id, "produced", d3.id),
        (d3.id, "input", asset),
    }
    assert graph.nodes[d3.id] == "deployment" and graph.nodes[asset] == "endpoint"
    two = lineage.graph(admin, d2.id, direction="upstream", depth=1)
    assert {(e.src, e.relation) for e in two.edges} == {(p2.id, "produced"), (v2.id, "input")}
    served = lineage.graph(admin, asset, direction="upstream", depth=1)
    assert {e.src for e in served.edges if e.src_kind == "model_version"} == {v1.id, v2.id}


def _assets(admin: Context) -> list[object]:
    from andon.auth import service as auth

    return [a for a in auth.list_assets(admin, TEAM) if a.kind == "endpoint"]


def test_applying_a_model_endpoint_records_its_first_deployment(line: Line) -> None:  # noqa: F811
    alice, admin = line["alice"], line.admin
    ref = line.model()
    registry.set_alias(alice, ref, "shadow", reason="mirror traffic")  # no stage owns it
    moved = next(e for e in audit.list_entries(admin) if e.action == "model.alias")
    record = serve.apply_endpoint(alice, endpoint_yaml("shadow", "fraud-shadow"))
    [first] = serve.list_deployments(alice, "fraud-shadow")
    assert (first.endpoint_id, first.version, first.cause) == (record.id, 1, "alias")
    assert (first.promotion_id, first.cause_audit_id) == (None, moved.id)
    assert serve.sync_deployments(alice) == []
    # Applying again (changed content, same binding) records nothing new.
    serve.apply_endpoint(alice, endpoint_yaml("shadow", "fraud-shadow") + "# tuned\n")
    assert len(serve.list_deployments(alice, "fraud-shadow")) == 1
    # An LLM endpoint has no deployments.
    serve.apply_endpoint(
        alice, f"name: explain\nteam: {TEAM}\nkind: llm\nupstreams: [http://127.0.0.1:9/v1]\n"
    )
    assert serve.list_deployments(alice, "explain") == []
    assert len(deploys(admin)) == 1


def test_who_may_record_and_read_deployments(line: Line) -> None:  # noqa: F811
    ref = line.model()
    serve.apply_endpoint(line["alice"], endpoint_yaml())
    promotion.promote(line["alice"], ref, "staging")
    for reader in ("vera", "gita", "hugo"):  # viewer, approver, risk-owner: read only
        assert PEOPLE[reader][0] != "contributor"
        with pytest.raises(Forbidden):
            serve.sync_deployments(line[reader])
        with pytest.raises(Forbidden):
            serve.sync_deployments(line[reader], "fraud-scorer")
        assert serve.list_deployments(line[reader], "fraud-scorer") == []
    assert deploys(line.admin) == []
    with pytest.raises(NotFound):
        serve.list_deployments(line["alice"], "nope")
    [done] = serve.sync_deployments(line["alice"], "fraud-scorer", reason="after staging")
    entry = next(e for e in audit.list_entries(line.admin) if e.action == "endpoint.deploy")
    assert (entry.reason, done.recorded_by) == ("after staging", "alice")
