"""What each /api/v1 endpoint does, over real HTTP, as the services say it should."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from andon.audit import service as audit
from andon.auth import service as auth
from tests.api.live import Api, assert_problem


def _ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _people(api: Api, *names: str) -> None:
    for name in names:
        auth.create_principal(api.admin, name)


def test_whoami_names_the_caller_and_its_grants(api: Api) -> None:
    me = _ok(api.client.get("/api/v1/whoami"))
    assert me["name"] == "admin"
    assert me["kind"] == "user"
    assert me["grants"] == [{"role": "platform-admin", "scope": "global", "scope_id": None}]


def test_teams_create_get_and_members(api: Api) -> None:
    _people(api, "ana", "ben")
    team = _ok(
        api.client.post(
            "/api/v1/teams",
            json={
                "name": "fraud-ml",
                "description": "fraud models",
                "owners": ["ana"],
                "reason": "new squad",
            },
        ),
        201,
    )
    assert team["name"] == "fraud-ml"
    assert team["members"] == [{"name": "ana", "owner": True}]
    assert team["created_at"] == "2026-11-23T08:00:00Z"
    assert _ok(api.client.get("/api/v1/teams/fraud-ml")) == team

    added = _ok(api.client.post("/api/v1/teams/fraud-ml/members", json={"principal": "ben"}))
    assert added["members"] == [{"name": "ana", "owner": True}, {"name": "ben", "owner": False}]
    removed = _ok(
        api.client.delete("/api/v1/teams/fraud-ml/members/ana", params={"reason": "moved"})
    )
    assert removed["members"] == [{"name": "ben", "owner": False}]
    assert_problem(api.client.delete("/api/v1/teams/fraud-ml/members/ana"), 404, field="principal")

    actions = [
        e["action"]
        for e in _ok(api.client.get("/api/v1/audit", params={"object_id": team["id"]}))["items"]
    ]
    assert actions == ["team.member.remove", "team.member.add", "team.create"]
    entry = audit.list_entries(api.admin, object_id=team["id"], limit=3)[0]
    assert entry.reason == "moved"


def test_rotation_oncall_and_escalation(api: Api) -> None:
    _people(api, "ana", "ben", "risk")
    auth.create_team(api.admin, "fraud-ml")
    rotation = _ok(
        api.client.put(
            "/api/v1/teams/fraud-ml/rotations/primary",
            json={
                "members": ["ana", "ben"],
                "timezone": "Europe/Paris",
                "handoff": "09:00",
                "period_hours": 168,
                "starts_on": "2026-11-23",
            },
        )
    )
    assert rotation["members"] == ["ana", "ben"]
    assert rotation["timezone"] == "Europe/Paris"
    assert [r["name"] for r in _ok(api.client.get("/api/v1/teams/fraud-ml/rotations"))] == [
        "primary"
    ]

    # 2026-11-23 09:00 in Paris is 08:00Z: the clock stands exactly at the first hand-off.
    now = _ok(api.client.get("/api/v1/teams/fraud-ml/oncall"))
    assert now["principal"] == "ana"
    assert now["shift_start"] == "2026-11-23T08:00:00Z"
    assert now["shift_end"] == "2026-11-30T08:00:00Z"
    later = _ok(
        api.client.get("/api/v1/teams/fraud-ml/oncall", params={"at": "2026-12-01T12:00:00+01:00"})
    )
    assert later["principal"] == "ben"
    assert later["at"] == "2026-12-01T11:00:00Z"
    naive = _ok(
        api.client.get("/api/v1/teams/fraud-ml/oncall", params={"at": "2026-11-30T07:59:00"})
    )
    assert naive["principal"] == "ana"  # no offset means UTC
    assert_problem(
        api.client.get("/api/v1/teams/fraud-ml/oncall", params={"rotation": "nope"}),
        404,
        field="rotation",
    )

    rungs = _ok(
        api.client.put(
            "/api/v1/teams/fraud-ml/escalation/model-owner", json={"rotation": "primary"}
        )
    )
    assert rungs == [{"level": "model-owner", "principal": "ana", "via": "rotation primary"}]
    _ok(api.client.put("/api/v1/teams/fraud-ml/escalation/risk-owner", json={"principal": "risk"}))
    ladder = _ok(
        api.client.get("/api/v1/teams/fraud-ml/escalation", params={"at": "2026-12-01T12:00:00Z"})
    )
    assert ladder == [
        {"level": "model-owner", "principal": "ben", "via": "rotation primary"},
        {"level": "risk-owner", "principal": "risk", "via": "principal"},
    ]
    assert_problem(
        api.client.put(
            "/api/v1/teams/fraud-ml/escalation/model-owner", json={"rotation": "missing"}
        ),
        404,
        field="rotation",
    )


def test_principals_create_list_and_disable(api: Api) -> None:
    created = _ok(
        api.client.post(
            "/api/v1/principals",
            json={"name": "etl-bot", "kind": "service", "display_name": "ETL", "email": "etl@x.io"},
        ),
        201,
    )
    assert created["kind"] == "service"
    assert created["disabled"] is False
    assert_problem(api.client.post("/api/v1/principals", json={"name": "etl-bot"}), 409)
    names = [p["name"] for p in _ok(api.client.get("/api/v1/principals"))["items"]]
    assert names == ["admin", "etl-bot"]
    disabled = _ok(api.client.post("/api/v1/principals/etl-bot/disable"))
    assert disabled["disabled"] is True
    listed = _ok(api.client.get("/api/v1/principals"))["items"]
    assert [p["disabled"] for p in listed] == [False, True]


def test_role_bindings_at_every_scope_and_delete(api: Api) -> None:
    _people(api, "ana")
    auth.create_team(api.admin, "fraud-ml")
    asset = _ok(
        api.client.post(
            "/api/v1/assets", json={"kind": "model", "name": "scorer", "team": "fraud-ml"}
        ),
        201,
    )
    assert asset["team"] == "fraud-ml"
    assert [
        a["id"] for a in _ok(api.client.get("/api/v1/assets", params={"team": "fraud-ml"}))["items"]
    ] == [asset["id"]]

    made = [
        _ok(api.client.post("/api/v1/role-bindings", json=body), 201)
        for body in (
            {"principal": "ana", "role": "viewer"},
            {"principal": "ana", "role": "contributor", "scope": "team", "target": "fraud-ml"},
            {"principal": "ana", "role": "approver", "scope": "asset", "target": asset["id"]},
        )
    ]
    assert [(b["scope"], b["scope_name"]) for b in made] == [
        ("global", None),
        ("team", "fraud-ml"),
        ("asset", "model/scorer"),
    ]
    assert_problem(
        api.client.post("/api/v1/role-bindings", json={"principal": "ana", "role": "viewer"}),
        409,
    )
    assert_problem(
        api.client.post(
            "/api/v1/role-bindings",
            json={"principal": "ana", "role": "viewer", "scope": "team", "target": "nope"},
        ),
        404,
    )
    listed = _ok(api.client.get("/api/v1/role-bindings", params={"principal": "ana"}))["items"]
    assert sorted(b["id"] for b in listed) == sorted(b["id"] for b in made)

    gone = _ok(api.client.delete(f"/api/v1/role-bindings/{made[1]['id']}", params={"reason": "x"}))
    assert gone["role"] == "contributor"
    listed = _ok(api.client.get("/api/v1/role-bindings", params={"principal": "ana"}))["items"]
    assert len(listed) == 2
    assert_problem(api.client.delete(f"/api/v1/role-bindings/{made[1]['id']}"), 404)


def test_tokens_for_self_for_others_and_revoke(api: Api) -> None:
    _people(api, "ana", "ben")
    auth.bind_role(api.admin, "ana", "viewer")
    ana_secret = api.token_for("ana")
    with api.as_(ana_secret) as ana:
        # Anyone may issue a token for themselves...
        own = _ok(ana.post("/api/v1/tokens", json={"name": "laptop"}), 201)
        assert own["principal"] == "ana"
        # ...but not for someone else.
        before = api.writes()
        doc = assert_problem(ana.post("/api/v1/tokens", json={"principal": "ben"}), 403)
        assert "token.create" in doc["detail"]
        assert api.writes() == before
        # Revoking one's own token needs no extra permission.
        revoked = _ok(ana.delete(f"/api/v1/tokens/{own['id']}"))
        assert revoked["revoked_at"] == "2026-11-23T08:00:00Z"
        assert_problem(ana.delete(f"/api/v1/tokens/{own['id']}"), 409)

    # An admin may issue for others; the token authenticates as them.
    bens = _ok(
        api.client.post("/api/v1/tokens", json={"principal": "ben", "expires_in_days": 7}), 201
    )
    assert bens["expires_at"] == "2026-11-30T08:00:00Z"
    with api.as_(bens["token"]) as ben:
        assert _ok(ben.get("/api/v1/whoami"))["name"] == "ben"
        # Ben holds no role: reads are forbidden, not unauthenticated...
        assert_problem(ben.get("/api/v1/teams"), 403)
        # ...his own tokens he may list, someone else's not.
        assert [t["id"] for t in _ok(ben.get("/api/v1/tokens"))["items"]] == [bens["id"]]
        assert_problem(ben.get("/api/v1/tokens", params={"principal": "ana"}), 403)
    listed = _ok(api.client.get("/api/v1/tokens", params={"principal": "ben"}))["items"]
    assert [t["id"] for t in listed] == [bens["id"]]
    assert "token" not in listed[0]


def test_audit_filters_and_verify(api: Api) -> None:
    _people(api, "ana")
    auth.bind_role(api.admin, "ana", "platform-admin")
    with api.as_(api.token_for("ana")) as ana:
        team = _ok(ana.post("/api/v1/teams", json={"name": "fraud-ml", "reason": "why not"}), 201)
    by_ana = _ok(api.client.get("/api/v1/audit", params={"actor": "ana"}))["items"]
    assert [(e["action"], e["object_id"], e["reason"]) for e in by_ana] == [
        ("team.create", team["id"], "why not")
    ]
    assert by_ana[0]["change"] == {"name": "fraud-ml", "owners": []}
    about = _ok(api.client.get("/api/v1/audit", params={"object_id": team["id"]}))["items"]
    assert [e["id"] for e in about] == [e["id"] for e in by_ana]
    assert _ok(api.client.get("/api/v1/audit", params={"actor": "nobody"}))["items"] == []

    verified = _ok(api.client.post("/api/v1/audit/verify"))
    assert verified["ok"] is True
    assert verified["checked"] == by_ana[0]["seq"]
    assert verified["first_bad_seq"] is None


def test_events_filter_by_type(api: Api) -> None:
    auth.create_team(api.admin, "fraud-ml")
    _people(api, "ana")
    teams = _ok(api.client.get("/api/v1/events", params={"type": "team.created"}))["items"]
    assert [(e["type"], e["payload"]["name"]) for e in teams] == [("team.created", "fraud-ml")]
    assert teams[0]["created_at"] == "2026-11-23T08:00:00Z"
    everything = _ok(api.client.get("/api/v1/events"))["items"]
    assert {"token.created", "team.created", "principal.created"} <= {e["type"] for e in everything}
    assert _ok(api.client.get("/api/v1/events", params={"type": "nope"}))["items"] == []


def test_status_board_is_its_worst_light(api: Api) -> None:
    board = _ok(api.client.get("/api/v1/status"))
    rank = ["green", "amber", "red"]
    colors = [a["color"] for a in board["areas"]]
    assert colors
    assert set(colors) <= set(rank)
    assert board["board"] == max(colors, key=rank.index)
    areas = {a["area"]: a for a in board["areas"]}
    assert areas["audit chain"]["color"] == "green"
    # A viewer may read the board; a principal without any role may not.
    auth.create_principal(api.admin, "nobody")
    with api.as_(api.token_for("nobody")) as nobody:
        assert_problem(nobody.get("/api/v1/status"), 403)


def test_timestamps_are_utc_iso8601(api: Api) -> None:
    team = _ok(api.client.post("/api/v1/teams", json={"name": "fraud-ml"}), 201)
    parsed = datetime.fromisoformat(team["created_at"])
    assert parsed == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
