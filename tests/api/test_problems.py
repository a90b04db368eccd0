"""Every error is RFC 9457 problem+json with the right status, and a failed request writes nothing."""

from __future__ import annotations

import httpx
import pytest

from andon.auth import service as auth
from andon.core.context import Context
from tests.api.live import Api, assert_problem


def _viewer(api: Api, name: str = "vera") -> httpx.Client:
    auth.create_principal(api.admin, name)
    auth.bind_role(api.admin, name, "viewer")
    return api.as_(api.token_for(name))


def test_403_when_a_viewer_tries_to_create_a_team(api: Api) -> None:
    with _viewer(api) as vera:
        before = api.writes()
        doc = assert_problem(vera.post("/api/v1/teams", json={"name": "fraud-ml"}), 403)
        assert doc["type"] == "https://andon.dev/problems/forbidden"
        assert "team.create" in doc["detail"]
        assert doc["instance"] == "/api/v1/teams"
        assert api.writes() == before
        assert api.client.get("/api/v1/teams").json()["items"] == []
        # ...and reading is still fine.
        assert vera.get("/api/v1/teams").status_code == 200


def test_404_for_unknown_objects_and_routes(api: Api) -> None:
    before = api.writes()
    doc = assert_problem(api.client.get("/api/v1/teams/nope"), 404, field="team")
    assert doc["type"] == "https://andon.dev/problems/not-found"
    assert doc["detail"] == "team: no team named 'nope'"
    assert_problem(api.client.post("/api/v1/teams/nope/members", json={"principal": "admin"}), 404)
    assert_problem(
        api.client.post("/api/v1/role-bindings", json={"principal": "ghost", "role": "viewer"}),
        404,
        field="principal",
    )
    assert_problem(api.client.delete("/api/v1/tokens/tok_nope"), 404, field="token")
    assert_problem(api.client.delete("/api/v1/role-bindings/rb_nope"), 404, field="binding")
    assert_problem(api.client.post("/api/v1/principals/ghost/disable"), 404)
    route = assert_problem(api.client.get("/api/v1/no-such-thing"), 404)
    assert route["detail"] == "no such resource: GET /api/v1/no-such-thing"
    assert_problem(api.client.get("/api/v2/teams"), 404)
    assert api.writes() == before


def test_405_names_every_allowed_method(api: Api) -> None:
    r = api.client.put("/api/v1/teams", json={})
    doc = assert_problem(r, 405)
    assert r.headers["allow"] == "GET, POST"
    assert doc["detail"] == "PUT is not allowed on /api/v1/teams; allowed: GET, POST"
    assert_problem(api.client.get("/api/v1/audit/verify"), 405)
    assert_problem(api.client.patch("/api/v1/teams/x"), 405)


def test_409_for_a_duplicate_team_writes_nothing(api: Api) -> None:
    assert api.client.post("/api/v1/teams", json={"name": "fraud-ml"}).status_code == 201
    before = api.writes()
    doc = assert_problem(api.client.post("/api/v1/teams", json={"name": "fraud-ml"}), 409)
    assert doc["type"] == "https://andon.dev/problems/conflict"
    assert doc["detail"] == "team 'fraud-ml' already exists"
    assert api.writes() == before


BAD_BODIES = [
    # (method, url, body, field named in the problem)
    ("POST", "/api/v1/teams", {"name": "ok", "colour": "red"}, "colour"),
    ("POST", "/api/v1/teams", {"name": 7}, "name"),
    ("POST", "/api/v1/teams", {"name": "ok", "owners": "admin"}, "owners"),
    ("POST", "/api/v1/teams", {}, "name"),
    ("POST", "/api/v1/teams", {"name": "Not A Name"}, "name"),
    ("POST", "/api/v1/teams", {"name": "ok", "description": "nul\x00byte"}, "description"),
    ("POST", "/api/v1/teams", ["name", "ok"], "body"),
    ("POST", "/api/v1/role-bindings", {"principal": "bob", "role": "overlord"}, "role"),
    (
        "POST",
        "/api/v1/role-bindings",
        {"principal": "bob", "role": "viewer", "scope": "moon"},
        "scope",
    ),
    (
        "POST",
        "/api/v1/role-bindings",
        {"principal": "bob", "role": "viewer", "scope": "team"},
        "target",
    ),
    ("POST", "/api/v1/principals", {"name": "carol", "kind": "robot"}, "kind"),
    ("POST", "/api/v1/principals", {"name": "carol", "email": "nope"}, "email"),
    ("POST", "/api/v1/tokens", {"expires_in_days": 0}, "expires_in_days"),
    ("POST", "/api/v1/tokens", {"expires_in_days": "soon"}, "expires_in_days"),
    (
        "PUT",
        "/api/v1/teams/fraud-ml/rotations/primary",
        {"members": ["bob"], "starts_on": "2026-11-23", "timezone": "Mars/Olympus"},
        "timezone",
    ),
    (
        "PUT",
        "/api/v1/teams/fraud-ml/rotations/primary",
        {"members": ["bob"], "starts_on": "2026-11-23", "handoff": "25:00"},
        "handoff",
    ),
    ("PUT", "/api/v1/teams/fraud-ml/rotations/primary", {"members": []}, "members"),
    ("PUT", "/api/v1/teams/fraud-ml/escalation/ceo", {"principal": "bob"}, "level"),
    ("PUT", "/api/v1/teams/fraud-ml/escalation/model-owner", {}, "principal"),
]


def test_422_for_bad_bodies_names_the_field_and_writes_nothing(api: Api) -> None:
    auth.create_principal(api.admin, "bob")
    auth.create_team(api.admin, "fraud-ml")
    before = api.writes()
    for method, url, body, field in BAD_BODIES:
        doc = assert_problem(api.client.request(method, url, json=body), 422, field=field)
        assert doc["type"] == "https://andon.dev/problems/invalid"
        assert doc["detail"].startswith(f"{field}: ")
    assert api.writes() == before


def test_422_for_bad_query_parameters_and_unreadable_bodies(api: Api) -> None:
    auth.create_team(api.admin, "fraud-ml")
    before = api.writes()
    assert_problem(api.client.get("/api/v1/teams", params={"limit": 0}), 422, field="limit")
    assert_problem(api.client.get("/api/v1/teams", params={"limit": "x"}), 422, field="limit")
    assert_problem(api.client.get("/api/v1/audit", params={"limit": 501}), 422, field="limit")
    assert_problem(
        api.client.get("/api/v1/teams/fraud-ml/oncall", params={"at": "yesterday"}),
        422,
        field="at",
    )
    assert_problem(
        api.client.get("/api/v1/teams/fraud-ml/oncall", params={"at": "0001-01-01T00:00:00+14:00"}),
        422,
        field="at",
    )
    assert_problem(api.client.get("/api/v1/audit", params={"actor": "a\x00b"}), 422, field="actor")
    # A mistyped filter must not silently return everything.
    doc = assert_problem(api.client.get("/api/v1/audit", params={"actr": "bob"}), 422, field="actr")
    assert doc["detail"] == (
        "actr: is not a query parameter of this operation (it takes: actor, cursor, limit, "
        "object_id)"
    )
    assert_problem(api.client.get("/api/v1/whoami", params={"verbose": "1"}), 422, field="verbose")
    assert_problem(api.client.get("/api/v1/teams/a%00b"), 422, field="path")
    doc = assert_problem(
        api.client.post(
            "/api/v1/teams", content=b"{nope", headers={"content-type": "application/json"}
        ),
        422,
        field="body",
    )
    assert doc["detail"].startswith("body: is not valid JSON")
    # A lone surrogate cannot be stored as text anywhere.
    assert_problem(
        api.client.post(
            "/api/v1/teams",
            content=b'{"name": "x", "description": "\\ud800"}',
            headers={"content-type": "application/json"},
        ),
        422,
        field="description",
    )
    assert api.writes() == before


def test_500_is_a_problem_that_leaks_nothing_and_keeps_the_connection(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(ctx: Context) -> dict[str, object]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(auth, "whoami", boom)
    doc = assert_problem(api.client.get("/api/v1/whoami"), 500)
    assert "secret internals" not in str(doc)
    assert "server log" in doc["detail"]
    assert any("secret internals" in r.exc_text for r in caplog.records if r.exc_text)
    # The same keep-alive connection still serves the next request.
    assert api.client.get("/api/v1/teams").status_code == 200
