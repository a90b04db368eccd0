"""The AI factory over /api/v1, real HTTP to a live server: runs, models, aliases, cards,
evaluations, gates, four-eyes approvals, promotion, rollback and lineage.

State is built through the services (the policy domain's ``line``: team fraud-ml, its people
and a two-stage policy whose production alias is ``champion``); every state change under test
goes through REST and must leave its audit entry, as the CLI does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode

from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.clock import FrozenClock
from andon.policy import approvals, cord, promotion
from andon.registry import service as registry
from tests.api.live import Api, assert_problem
from tests.api.test_schemathesis import CHECKS, EXAMPLES
from tests.policy.conftest import GOOD, Line, line  # noqa: F401  (the factory line fixture)

V1 = "/api/v1"
FRAUD = f"{V1}/models/fraud-ml/fraud"


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _forbidden(response: httpx.Response, permission: str) -> None:
    doc = assert_problem(response, 403)
    assert permission in doc["detail"], doc


def _actions(api: Api, object_id: str) -> list[str]:
    return [e.action for e in audit.list_entries(api.admin, object_id=object_id, limit=50)]


def test_runs_listing_filters_pages_and_metric_history(
    api: Api,
    line: Line,  # noqa: F811
    clock: FrozenClock,
) -> None:
    admin = line.admin
    first = registry.create_run(admin, "baseline", "fraud-ml")
    registry.log_to_run(admin, first.id, params={"lr": "0.1"}, metrics={"auc": 0.7})
    registry.log_to_run(admin, first.id, metrics={"auc": 0.8, "val/loss": 0.3})
    registry.end_run(admin, first.id)
    clock.advance(seconds=1)
    second = registry.create_run(admin, "tuned", "fraud-ml")
    registry.log_to_run(admin, second.id, metrics={"auc": 0.9})

    newest = _ok(api.client.get(f"{V1}/runs", params={"limit": 1}))
    assert [r["name"] for r in newest["items"]] == ["tuned"]
    rest = _ok(api.client.get(f"{V1}/runs", params={"limit": 1, "cursor": newest["next_cursor"]}))
    assert [r["name"] for r in rest["items"]] == ["baseline"]
    assert rest["next_cursor"] is None
    good = _ok(api.client.get(f"{V1}/runs", params={"where": "metrics.auc >= 0.85"}))
    assert [r["id"] for r in good["items"]] == [second.id]
    finished = _ok(api.client.get(f"{V1}/runs", params={"where": "status = finished"}))
    assert [r["id"] for r in finished["items"]] == [first.id]
    assert_problem(
        api.client.get(f"{V1}/runs", params={"where": "metrics.auc ~ 1"}), 422, field="where"
    )
    assert_problem(api.client.get(f"{V1}/runs", params={"team": "nope"}), 404)

    run = _ok(api.client.get(f"{V1}/runs/{first.id}"))
    assert (run["status"], run["params"]) == ("finished", {"lr": "0.1"})
    assert run["metrics"] == {"auc": 0.8, "val/loss": 0.3}
    history = _ok(api.client.get(f"{V1}/runs/{first.id}/metrics/auc"))
    assert history["points"] == [{"step": 0, "value": 0.7}, {"step": 1, "value": 0.8}]
    nested = _ok(api.client.get(f"{V1}/runs/{first.id}/metrics/val/loss"))
    assert (nested["key"], nested["points"]) == ("val/loss", [{"step": 0, "value": 0.3}])
    assert _ok(api.client.get(f"{V1}/runs/{first.id}/metrics/never"))["points"] == []
    assert_problem(api.client.get(f"{V1}/runs/run_missing"), 404)
    assert_problem(api.client.get(f"{V1}/runs/run_missing/metrics/auc"), 404)

    auth.create_principal(api.admin, "stranger")  # no role anywhere
    with api.as_(api.token_for("stranger")) as stranger:
        _forbidden(stranger.get(f"{V1}/runs"), "run.read")
        _forbidden(stranger.get(f"{V1}/runs/{first.id}"), "run.read")


def test_models_versions_and_aliases(api: Api, line: Line) -> None:  # noqa: F811
    first, second = line.model(), line.model()
    listed = _ok(api.client.get(f"{V1}/models", params={"team": "fraud-ml"}))
    assert [(m["team"], m["name"], m["latest_version"]) for m in listed["items"]] == [
        ("fraud-ml", "fraud", 2)
    ]
    model = _ok(api.client.get(FRAUD))
    assert [v["version"] for v in model["versions"]] == [2, 1]
    one = _ok(api.client.get(f"{FRAUD}/versions/1"))
    assert one["id"] == registry.get_version(api.admin, first).id
    assert one["digest"].startswith("sha256:")
    assert_problem(api.client.get(f"{FRAUD}/versions/9"), 404, field="model")
    assert_problem(api.client.get(f"{V1}/models/fraud-ml/nope"), 404, field="model")
    assert_problem(api.client.get(f"{V1}/models/Bad Team/fraud"), 422, field="team")

    moved = _ok(
        api.client.put(f"{FRAUD}/aliases/candidate", json={"version": 2, "reason": "try it"})
    )
    assert moved == {"model": "fraud", "alias": "candidate", "previous": None, "version": 2}
    assert _ok(api.client.get(FRAUD))["aliases"] == {"candidate": 2}
    version_two = registry.get_version(api.admin, second)
    assert _actions(api, version_two.id) == ["model.alias", "model.register"]
    entry = audit.list_entries(api.admin, object_id=version_two.id, limit=1)[0]
    assert (entry.actor, entry.reason) == ("admin", "try it")

    stale = api.client.put(f"{FRAUD}/aliases/candidate", json={"version": 1, "expected_version": 1})
    assert "is at 2, not 1" in assert_problem(stale, 409)["detail"]
    bad = api.client.put(f"{FRAUD}/aliases/candidate", json={"version": "two"})
    assert_problem(bad, 422, field="version")
    unknown = api.client.put(f"{FRAUD}/aliases/candidate", json={"version": 1, "extra": True})
    assert_problem(unknown, 422, field="extra")

    # The production stage's alias moves only by promotion: the service refuses, and says so.
    before = api.writes()
    stage = assert_problem(api.client.put(f"{FRAUD}/aliases/champion", json={"version": 1}), 403)
    assert "stage 'production'" in stage["detail"] and "promote" in stage["detail"]
    with api.as_(api.token_for("vera")) as viewer:
        _forbidden(viewer.put(f"{FRAUD}/aliases/candidate", json={"version": 1}), "model.alias")
        assert _ok(viewer.get(f"{FRAUD}/versions/2"))["aliases"] == ["candidate"]
    assert api.writes()[0] == before[0] + 1  # only the token issued above


def test_card_read_and_section_edit(api: Api, line: Line) -> None:  # noqa: F811
    ref = line.model()
    card = _ok(api.client.get(f"{FRAUD}/versions/1/card"))
    assert (card["schema"], card["ref"]) == ("andon.model-card/1", "fraud@1")
    assert card["completeness"]["complete"] is False
    assert card["evaluation"] is None

    with api.as_(api.token_for("alice")) as alice:
        state = _ok(
            alice.put(f"{FRAUD}/versions/1/card/sections/purpose", json={"text": "flags fraud"})
        )
        assert state["complete"] is False and "purpose" not in state["missing"]
    card = _ok(api.client.get(f"{FRAUD}/versions/1/card"))
    purpose = next(s for s in card["sections"] if s["name"] == "purpose")
    assert (purpose["text"], purpose["updated_by"]) == ("flags fraud", "alice")
    assert _actions(api, registry.get_version(api.admin, ref).id)[0] == "model.card"

    with api.as_(api.token_for("vera")) as viewer:
        edit = viewer.put(f"{FRAUD}/versions/1/card/sections/risks", json={"text": "none"})
        _forbidden(edit, "model.card")
    assert_problem(
        api.client.put(f"{FRAUD}/versions/1/card/sections/vibes", json={"text": "x"}),
        422,
        field="section",
    )
    assert_problem(
        api.client.put(f"{FRAUD}/versions/1/card/sections/risks", json={"text": 3}),
        422,
        field="text",
    )
    assert_problem(api.client.get(f"{FRAUD}/versions/4/card"), 404)


def test_evaluations_of_a_version(api: Api, line: Line, clock: FrozenClock) -> None:  # noqa: F811
    ref = line.model()
    older = line.add_evaluation(ref)
    clock.advance(seconds=1)
    newer = line.add_evaluation(ref, metrics={**GOOD, "f1": 0.9})
    found = _ok(api.client.get(f"{FRAUD}/versions/1/evaluations", params={"limit": 1}))
    assert [e["id"] for e in found["items"]] == [newer]
    after = api.client.get(
        f"{FRAUD}/versions/1/evaluations", params={"cursor": found["next_cursor"]}
    )
    assert [e["id"] for e in _ok(after)["items"]] == [older]
    one = _ok(api.client.get(f"{V1}/evaluations/{newer}"))
    assert (one["version"], one["metrics"]["f1"], one["champion"]) == (1, 0.9, None)
    assert_problem(api.client.get(f"{V1}/evaluations/evl_missing"), 404, field="evaluation")
    assert_problem(api.client.get(f"{FRAUD}/versions/2/evaluations"), 404)


def _approve_over_rest(api: Api, version: int) -> str:
    """alice asks, gita and hugo approve: four eyes, over HTTP; returns the request id."""
    with api.as_(api.token_for("alice")) as alice:
        asked = _ok(
            alice.post(
                f"{FRAUD}/versions/{version}/approval-requests/production",
                json={"reason": "ship it"},
            ),
            201,
        )
    assert asked["missing_roles"] == ["approver", "risk-owner"]
    assert _actions(api, asked["id"]) == ["approval.request"]
    for person, role in (("gita", "approver"), ("hugo", "risk-owner")):
        with api.as_(api.token_for(person)) as client:
            decided = _ok(
                client.post(
                    f"{V1}/approval-requests/{asked['id']}/decision",
                    json={"decision": "approve", "role": role, "reason": "reviewed"},
                )
            )
    assert decided["status"] == "approved" and decided["missing_roles"] == []
    for approval in decided["approvals"]:
        assert _actions(api, approval["id"]) == ["approval.decide"]
    return str(asked["id"])


def test_gate_approvals_promotion_and_rollback(api: Api, line: Line) -> None:  # noqa: F811
    line.model()  # version 1: no card, no evaluation
    gate = _ok(api.client.post(f"{FRAUD}/versions/1/gates/production", json={"reason": "see"}))
    assert gate["passed"] is False  # a stored result, not an error
    failing = [c["clause"] for c in gate["clauses"] if not c["passed"]]
    assert "card.complete" in failing
    assert _actions(api, gate["id"]) == ["gate.check"]
    assert_problem(api.client.post(f"{FRAUD}/versions/1/gates/nope"), 422, field="stage")
    assert_problem(api.client.post(f"{FRAUD}/versions/9/gates/production"), 404, field="model")

    refused = assert_problem(api.client.post(f"{FRAUD}/versions/1/promotions/production"), 409)
    assert "refusing to promote fraud@1" in refused["detail"]
    assert "approvals missing" in refused["detail"]

    line.complete_card("fraud@1")
    line.add_evaluation("fraud@1")
    assert _ok(api.client.post(f"{FRAUD}/versions/1/gates/production"))["passed"] is True
    first_request = _approve_over_rest(api, 1)
    with api.as_(api.token_for("alice")) as alice:
        promoted = _ok(
            alice.post(f"{FRAUD}/versions/1/promotions/production", json={"reason": "first"}),
            201,
        )
    assert (promoted["alias"], promoted["to_version"]) == ("champion", 1)
    assert promoted["request_id"] == first_request
    assert _actions(api, promoted["id"]) == ["model.promote"]
    used = _ok(api.client.get(f"{V1}/approval-requests", params={"status": "used"}))
    assert [q["id"] for q in used["items"]] == [first_request]

    line.ready(metrics={**GOOD, "f1": 0.88})  # version 2
    _approve_over_rest(api, 2)
    _ok(api.client.post(f"{FRAUD}/versions/2/promotions/production"), 201)
    assert _ok(api.client.get(FRAUD))["aliases"] == {"champion": 2}

    with api.as_(api.token_for("vera")) as viewer:
        _forbidden(viewer.post(f"{FRAUD}/versions/2/gates/production"), "gate.check")
        _forbidden(
            viewer.post(f"{FRAUD}/versions/2/approval-requests/production"), "approval.request"
        )
        _forbidden(viewer.post(f"{FRAUD}/versions/1/promotions/production"), "model.promote")
        _forbidden(
            viewer.post(f"{FRAUD}/rollbacks/production", json={"reason": "x"}), "model.rollback"
        )
        _forbidden(
            viewer.post(
                f"{V1}/approval-requests/{first_request}/decision",
                json={"decision": "reject", "role": "approver", "reason": "no"},
            ),
            "approval.decide",
        )
        history = _ok(viewer.get(f"{FRAUD}/promotions", params={"stage": "production"}))
    assert [(p["kind"], p["to_version"]) for p in history["items"]] == [
        ("promote", 2),
        ("promote", 1),
    ]

    assert_problem(api.client.post(f"{FRAUD}/rollbacks/production", json={}), 422, field="reason")
    with api.as_(api.token_for("hugo")) as hugo:
        back = _ok(
            hugo.post(f"{FRAUD}/rollbacks/production", json={"reason": "p95 regression"}), 201
        )
    assert (back["kind"], back["from_version"], back["to_version"]) == ("rollback", 2, 1)
    assert _actions(api, back["id"]) == ["model.rollback"]
    again = api.client.post(f"{FRAUD}/rollbacks/production", json={"reason": "again"})
    assert "nothing to roll back to" in assert_problem(again, 409)["detail"]
    never = api.client.post(f"{FRAUD}/rollbacks/staging", json={"reason": "x"})
    assert_problem(never, 404, field="stage")
    blank = api.client.post(f"{FRAUD}/rollbacks/production", json={"reason": "  "})
    assert_problem(blank, 422, field="reason")

    # Four eyes over HTTP: an approver who also ships cannot decide its own request.
    auth.bind_role(api.admin, "gita", "contributor", scope="team", target="fraud-ml")
    with api.as_(api.token_for("gita")) as gita:
        asked = _ok(gita.post(f"{FRAUD}/versions/2/approval-requests/production"), 201)
        own = gita.post(
            f"{V1}/approval-requests/{asked['id']}/decision",
            json={"decision": "approve", "role": "approver", "reason": "mine"},
        )
        assert "four eyes" in assert_problem(own, 403)["detail"]
    bad = api.client.post(
        f"{V1}/approval-requests/{asked['id']}/decision",
        json={"decision": "maybe", "role": "approver", "reason": "hm"},
    )
    assert_problem(bad, 422, field="decision")
    with api.as_(api.token_for("hugo")) as hugo:
        wrong_role = hugo.post(
            f"{V1}/approval-requests/{asked['id']}/decision",
            json={"decision": "approve", "role": "janitor", "reason": "hm"},
        )
        assert_problem(wrong_role, 422, field="role")
    missing = api.client.post(
        f"{V1}/approval-requests/areq_missing/decision",
        json={"decision": "approve", "role": "approver", "reason": "ok"},
    )
    assert_problem(missing, 404, field="request")
    pending = _ok(api.client.get(f"{V1}/approval-requests", params={"status": "pending"}))
    assert [q["id"] for q in pending["items"]] == [asked["id"]]


def test_promotion_refused_while_the_cord_is_pulled(api: Api, line: Line) -> None:  # noqa: F811
    ref = line.ready()
    cord.pull_cord(line.admin, "fraud", reason="incident 42")
    before = api.writes()
    stopped = api.client.post(f"{FRAUD}/versions/1/promotions/production")
    assert "cord" in assert_problem(stopped, 423)["detail"]
    assert api.writes() == before
    assert registry.get_version(api.admin, ref).aliases == []


def test_lineage_graph_and_coverage(api: Api, line: Line) -> None:  # noqa: F811
    run = registry.create_run(line.admin, "train", "fraud-ml")
    registry.log_to_run(line.admin, run.id, datasets=["dv_train"])
    ref = line.model(run_id=run.id)
    version = registry.get_version(api.admin, ref)

    both = _ok(api.client.get(f"{V1}/lineage/{version.id}"))
    assert both["root"] == version.id
    assert {(e["src"], e["relation"], e["dst"]) for e in both["edges"]} >= {
        (run.id, "produced", version.id)
    }
    up = _ok(api.client.get(f"{V1}/lineage/{run.id}", params={"direction": "upstream", "depth": 1}))
    assert {n["id"] for n in up["nodes"]} == {run.id, "dv_train"}
    down = _ok(api.client.get(f"{V1}/lineage/{run.id}", params={"direction": "downstream"}))
    assert version.id in {n["id"] for n in down["nodes"]}
    assert_problem(api.client.get(f"{V1}/lineage/nothing_here"), 404, field="object")
    assert_problem(
        api.client.get(f"{V1}/lineage/{run.id}", params={"direction": "sideways"}),
        422,
        field="direction",
    )

    assert _ok(api.client.get(f"{V1}/lineage-coverage"))["total"] == 0
    line.complete_card(ref)
    line.add_evaluation(ref)  # stored without its lineage edge: coverage must notice
    request = approvals.request_approval(line["alice"], ref, "production")
    for person, role in (("gita", "approver"), ("hugo", "risk-owner")):
        approvals.decide_approval(line[person], request.id, "approve", role=role, reason="ok")
    promotion.promote(line["alice"], ref, "production")
    report = _ok(api.client.get(f"{V1}/lineage-coverage"))
    assert (report["total"], report["complete"], report["share"]) == (1, 0, 0.0)
    [explained] = report["versions"]
    assert (explained["id"], explained["champion"]) == (version.id, True)
    assert explained["missing"] == ["evaluation"]
    assert explained["links"]["run"] == [run.id]
    card = _ok(api.client.get(f"{FRAUD}/versions/1/card"))
    assert card["completeness"] == {"complete": True, "missing": []}
    assert (card["training_run"]["id"], card["evaluation"]["metrics"]["f1"]) == (run.id, 0.86)
    assert card["evaluation"]["slices"] == GOOD["slices"]
    assert sorted(a["approver"] for a in card["approvals"]) == ["gita", "hugo"]
    assert card["aliases"] == ["champion"]
    auth.create_principal(api.admin, "stranger")
    with api.as_(api.token_for("stranger")) as stranger:
        _forbidden(stranger.get(f"{V1}/lineage-coverage"), "lineage.read")
        _forbidden(stranger.get(f"{V1}/lineage/{run.id}"), "lineage.read")


FACTORY_PATHS = ("/api/v1/runs", "/api/v1/models", "/api/v1/evaluations", "/api/v1/approval-")
FACTORY_PATHS += ("/api/v1/lineage",)


def _fuzz_on_the_line(
    operation: APIOperation, mode: GenerationMode, base: str, known: dict[str, Any]
) -> Callable[[], None]:
    """As tests/api/test_schemathesis.py, but valid requests name real objects: generated
    bodies and queries then reach the services, and success responses meet their schemas."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        if mode is GenerationMode.POSITIVE and case.path_parameters:
            for name in case.path_parameters:
                if name in known:
                    case.path_parameters[name] = known[name]
        response = case.call()
        assert urlsplit(response.request.url).netloc == urlsplit(base).netloc
        if response.status_code >= 400:
            assert response.headers["content-type"] == ["application/problem+json"], (
                case.as_curl_command()
            )
            assert response.json()["status"] == response.status_code
        case.validate_response(response, checks=CHECKS)

    return run


@pytest.mark.parametrize("backend", ["sqlite"])
def test_generated_requests_on_a_built_line(api: Api, line: Line) -> None:  # noqa: F811
    """Schemathesis on the factory's operations, its valid requests aimed at a built line."""
    run = registry.create_run(line.admin, "train", "fraud-ml")
    registry.log_to_run(line.admin, run.id, metrics={"auc": 0.9}, datasets=["dv_train"])
    ref = line.model(run_id=run.id)
    line.complete_card(ref)
    evaluation = line.add_evaluation(ref)
    request = _approve_over_rest(api, 1)
    promotion.promote(line["alice"], ref, "production")
    line.ready()  # version 2, ready for a gate check
    version = registry.get_version(api.admin, ref)
    known = {
        "team": "fraud-ml",
        "name": "fraud",
        "version": 1,
        "stage": "production",
        "run_id": run.id,
        "key": "auc",
        "evaluation_id": evaluation,
        "request_id": request,
        "object_id": version.id,
    }

    schema = schemathesis.openapi.from_url(
        f"{api.base}/api/v1/openapi.json", config=schemathesis.Config()
    )
    schema.config.update(headers={"Authorization": f"Bearer {api.token}"})
    schema.config.generation.update(with_security_parameters=False)
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(FACTORY_PATHS):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz_on_the_line(operation, mode, api.base, known)()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label
                continue
            except (AssertionError, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
            tried += 1
    assert tried >= 30
    assert not failures, "\n\n".join(failures)
    # Valid requests reached the line: generated gate checks were stored and audited.
    assert "gate.check" in {e.action for e in audit.list_entries(api.admin, limit=1000)}
