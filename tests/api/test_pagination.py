"""Cursor pagination: follow next_cursor until null, every item exactly once, in order."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from andon.auth import service as auth
from tests.api.live import Api, assert_problem


def _walk(client: httpx.Client, url: str, limit: int, **params: Any) -> list[list[dict]]:
    pages: list[list[dict]] = []
    cursor = None
    while True:
        query = {**params, "limit": limit} | ({"cursor": cursor} if cursor else {})
        r = client.get(url, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(body["items"]) == limit
        assert len(pages) < 100, "pagination does not end"


def _cursor(listing: str, key: object) -> str:
    raw = json.dumps([listing, key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_teams_page_by_name_without_gaps_or_duplicates(api: Api) -> None:
    names = [f"team-{c}" for c in "gcaebfd"]
    for name in names:
        assert api.client.post("/api/v1/teams", json={"name": name}).status_code == 201
    pages = _walk(api.client, "/api/v1/teams", 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [t["name"] for p in pages for t in p] == sorted(names)
    # A limit that divides the count exactly ends with next_cursor null, not an empty page.
    assert [len(p) for p in _walk(api.client, "/api/v1/teams", 7)] == [7]


def test_principals_bindings_and_tokens_page_completely(api: Api) -> None:
    people = [f"user-{i}" for i in range(6)]
    for name in reversed(people):
        auth.create_principal(api.admin, name)
        auth.bind_role(api.admin, name, "viewer")
        auth.create_token(api.admin, "admin", name=name)
    principals = [p["name"] for page in _walk(api.client, "/api/v1/principals", 4) for p in page]
    assert principals == sorted(["admin", *people])
    bindings = [b["id"] for page in _walk(api.client, "/api/v1/role-bindings", 2) for b in page]
    assert len(bindings) == len(set(bindings)) == 7
    assert bindings == sorted(bindings)
    tokens = [t["id"] for page in _walk(api.client, "/api/v1/tokens", 3) for t in page]
    assert len(tokens) == len(set(tokens)) == 7  # the fixture's token and six more


def test_audit_pages_newest_first_and_filters(api: Api) -> None:
    for i in range(7):
        auth.create_team(api.admin, f"team-{i}")
    pages = _walk(api.client, "/api/v1/audit", 3)
    entries = [e for p in pages for e in p]
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs, reverse=True)
    assert seqs == list(range(seqs[0], 0, -1))  # every entry, none twice
    teams = _walk(api.client, "/api/v1/audit", 2, actor="admin")
    assert {e["action"] for p in teams for e in p} == {"team.create", "token.create"}


def test_events_page_in_order_and_filter_by_type(api: Api) -> None:
    for i in range(7):
        auth.create_team(api.admin, f"team-{i}")
    events = [e for p in _walk(api.client, "/api/v1/events", 3) for e in p]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    created = [e for p in _walk(api.client, "/api/v1/events", 3, type="team.created") for e in p]
    assert [e["payload"]["name"] for e in created] == [f"team-{i}" for i in range(7)]
    assert {e["type"] for e in created} == {"team.created"}


def test_garbage_cursors_are_422_problems(api: Api) -> None:
    auth.create_team(api.admin, "team-a")
    next_team = api.client.get("/api/v1/teams", params={"limit": 1}).json()
    assert next_team["next_cursor"] is None
    audit_cursor = api.client.get("/api/v1/audit", params={"limit": 1}).json()["next_cursor"]
    assert audit_cursor
    bad = {
        "/api/v1/teams": ["garbage", "!!!", _cursor("teams", 7), audit_cursor],
        "/api/v1/audit": ["garbage", _cursor("audit", "x"), _cursor("audit", 10**30)],
        "/api/v1/events": ["garbage", _cursor("events", -1), _cursor("events", True)],
        "/api/v1/principals": [base64.urlsafe_b64encode(b"\xff\xfe").decode()],
        "/api/v1/tokens": [_cursor("teams", "a")],
    }
    for url, cursors in bad.items():
        for cursor in cursors:
            doc = assert_problem(api.client.get(url, params={"cursor": cursor}), 422)
            assert doc["field"] == "cursor", (url, cursor)
    assert_problem(api.client.get("/api/v1/teams", params={"cursor": "x" * 1001}), 422)
