import httpx

from andon.auth import service as auth
from andon.core.context import Context
from tests.server import running_server


def test_admin_can_create_team_and_token_authenticates(admin: Context) -> None:
    auth.create_team(admin, "fraud-ml")
    _, secret = auth.create_token(admin, "admin")
    # A loaded CI machine can take longer than httpx's 5 s default for the first request.
    with running_server(admin) as base, httpx.Client(base_url=base, timeout=60) as client:
        r = client.get("/api/v1/teams", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200, r.text
        assert [t["name"] for t in r.json()["items"]] == ["fraud-ml"]
        r = client.get("/api/v1/teams")
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
