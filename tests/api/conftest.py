"""A live andon server per test, on SQLite and PostgreSQL, with an admin token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from andon.auth import service as auth
from andon.core.context import Context
from tests.api.live import Api
from tests.server import LOOPBACK_TIMEOUT, running_server


@pytest.fixture
def api(admin: Context) -> Iterator[Api]:
    """A server on the test's database and frozen clock, and clients for it."""
    _, secret = auth.create_token(admin, "admin", name="api-tests")
    with (
        running_server(admin) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=LOOPBACK_TIMEOUT
        ) as client,
        httpx.Client(base_url=base, timeout=LOOPBACK_TIMEOUT) as anon,
    ):
        yield Api(base, admin, secret, client, anon)
