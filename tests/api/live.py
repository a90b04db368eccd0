"""Helpers for tests against a live andon server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from andon.audit import service as audit
from andon.auth import service as auth
from andon.core.context import Context
from andon.events import service as events
from tests.server import LOOPBACK_TIMEOUT


@dataclass
class Api:
    """The live server: its base URL, an admin client and an anonymous one."""

    base: str
    admin: Context
    token: str
    client: httpx.Client
    anon: httpx.Client

    def as_(self, token: str) -> httpx.Client:
        """A client sending ``token``."""
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {token}"},
            timeout=LOOPBACK_TIMEOUT,
        )

    def token_for(self, principal: str, **kwargs: Any) -> str:
        """A fresh token for ``principal``, issued by the admin through the service."""
        _, secret = auth.create_token(self.admin, principal, **kwargs)
        return secret

    def writes(self) -> tuple[int, int]:
        """How many audit entries and outbox events exist: a failed request adds none."""
        return (
            len(audit.list_entries(self.admin, limit=1000)),
            len(events.list_events(self.admin, limit=1000)),
        )


def assert_problem(response: httpx.Response, status: int, *, field: str | None = None) -> Any:
    """``response`` is an RFC 9457 problem with ``status``; returns the document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    doc = response.json()
    assert doc["status"] == status
    assert doc["type"]
    assert doc["title"]
    assert doc["detail"]
    assert "\n" not in doc["detail"]
    if field is not None:
        assert doc.get("field") == field, doc
    return doc
