"""Bearer tokens over HTTP: every way a token can be bad, and secrets that are never shown twice."""

from __future__ import annotations

import re

from sqlalchemy import select

from andon.audit import service as audit
from andon.auth import service as auth
from andon.auth.tokens import hash_token
from andon.core.clock import FrozenClock
from andon.events import service as events
from andon.store.tables.auth import ApiToken
from tests.api.live import Api, assert_problem


def _unauthenticated(api: Api, header: str | None, detail: str) -> dict:
    headers = {"Authorization": header} if header is not None else {}
    r = api.anon.get("/api/v1/whoami", headers=headers)
    doc = assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert detail in doc["detail"]
    return doc


BAD_HEADERS = [
    ("Basic YWRtaW46YWRtaW4=", "must be 'Bearer <token>'"),
    ("Bearer", "must be 'Bearer <token>'"),
    ("Token andon_x", "must be 'Bearer <token>'"),
    ("Bearer not-a-token", "malformed token"),
    ("Bearer andon_short", "malformed token"),
    ("Bearer andon_" + "!" * 43, "malformed token"),
    ("Bearer andon_" + "a" * 43 + " andon_" + "b" * 43, "malformed token"),
    ("Bearer andon_" + "a" * 43, "unknown token"),
]


def test_bad_authorization_headers_are_401s_naming_the_problem(api: Api) -> None:
    for header, detail in BAD_HEADERS:
        doc = _unauthenticated(api, header, detail)
        assert doc["type"] == "https://andon.dev/problems/unauthenticated"
        assert doc["title"] == "not authenticated"


def test_scheme_is_case_insensitive(api: Api) -> None:
    r = api.anon.get("/api/v1/whoami", headers={"Authorization": f"bearer {api.token}"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "admin"


def test_a_presented_but_invalid_token_says_invalid_token(api: Api) -> None:
    r = api.anon.get("/api/v1/whoami", headers={"Authorization": "Bearer andon_" + "a" * 43})
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_revoked_token_is_refused(api: Api) -> None:
    auth.create_principal(api.admin, "bob")
    secret = api.token_for("bob")
    with api.as_(secret) as bob:
        assert bob.get("/api/v1/whoami").status_code == 200
        token_id = bob.get("/api/v1/tokens").json()["items"][0]["id"]
        r = api.client.delete(f"/api/v1/tokens/{token_id}", params={"reason": "leaked"})
        assert r.status_code == 200, r.text
        assert r.json()["revoked_at"] is not None
        doc = assert_problem(bob.get("/api/v1/whoami"), 401)
    assert doc["detail"] == f"token {token_id} was revoked"


def test_expired_token_is_refused(api: Api, clock: FrozenClock) -> None:
    auth.create_principal(api.admin, "bob")
    secret = api.token_for("bob", expires_in_days=1)
    with api.as_(secret) as bob:
        assert bob.get("/api/v1/whoami").status_code == 200
        clock.advance(hours=23, minutes=59)
        assert bob.get("/api/v1/whoami").status_code == 200
        clock.advance(minutes=1)
        doc = assert_problem(bob.get("/api/v1/whoami"), 401)
    assert doc["detail"].endswith("expired")


def test_tokens_of_a_disabled_principal_stop_working(api: Api) -> None:
    auth.create_principal(api.admin, "bob")
    secret = api.token_for("bob")
    with api.as_(secret) as bob:
        assert bob.get("/api/v1/whoami").status_code == 200
        r = api.client.post("/api/v1/principals/bob/disable", json={"reason": "left"})
        assert r.status_code == 200, r.text
        assert r.json()["disabled"] is True
        doc = assert_problem(bob.get("/api/v1/whoami"), 401)
    assert doc["detail"] == "principal 'bob' is disabled"


def test_token_secret_is_shown_once_and_only_its_hash_is_stored(api: Api) -> None:
    r = api.client.post("/api/v1/tokens", json={"name": "ci", "expires_in_days": 30})
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["token"]
    assert re.fullmatch(r"andon_[A-Za-z0-9_-]{43}", secret)
    assert created["principal"] == "admin"
    assert created["name"] == "ci"

    # The new token works, and no listing or read ever shows a secret again.
    with api.as_(secret) as client:
        assert client.get("/api/v1/whoami").json()["name"] == "admin"
    listing = api.client.get("/api/v1/tokens")
    assert listing.status_code == 200
    assert [t["id"] for t in listing.json()["items"] if t["id"] == created["id"]]
    for item in listing.json()["items"]:
        assert "token" not in item
        assert "token_hash" not in item
    for body in (listing.text, api.client.get("/api/v1/audit").text):
        assert secret not in body
        assert api.token not in body
    assert secret not in str([e.as_dict() for e in events.list_events(api.admin, limit=1000)])
    assert secret not in str([e.as_dict() for e in audit.list_entries(api.admin, limit=1000)])

    with api.admin.db.read() as session:
        stored = set(session.scalars(select(ApiToken.token_hash)))
    assert hash_token(secret) in stored
    assert secret not in stored
    assert not any(secret in h or h in secret for h in stored)
