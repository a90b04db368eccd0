"""The OpenAPI document: open, complete, and honest about auth and errors.

Only the health probes and this document (with its docs page) are open. The document is open
on purpose: it describes the API's shape and holds no data, and clients, code generators and
fuzzers need it before they hold a token.
"""

from __future__ import annotations

import re

import pytest

from tests.api.live import Api, assert_problem


@pytest.fixture
def backend() -> str:
    """The document and the auth gate do not depend on the database: SQLite is enough."""
    return "sqlite"


METHODS = ("get", "post", "put", "patch", "delete")


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_openapi_document_is_open_and_declares_bearer_on_every_api_operation(api: Api) -> None:
    r = api.anon.get("/api/v1/openapi.json")
    assert r.status_code == 200
    document = r.json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = _operations(document)
    api_ops = [(m, p, op) for m, p, op in operations if p.startswith("/api/v1/")]
    assert len(api_ops) >= 25
    for method, path, op in api_ops:
        assert op.get("security") == [{"HTTPBearer": []}], f"{method} {path}"
        assert "401" in op["responses"], f"{method} {path}"
    for method, path, op in operations:
        if not path.startswith("/api/v1/"):
            assert path in ("/healthz", "/readyz"), path
            assert "security" not in op, f"{method} {path}"
    # The docs page is open too (it only loads the document).
    assert api.anon.get("/api/v1/docs").status_code == 200


def test_every_api_operation_refuses_a_request_without_a_token(api: Api) -> None:
    document = api.anon.get("/api/v1/openapi.json").json()
    before = api.writes()
    seen = 0
    for method, path, _ in _operations(document):
        if not path.startswith("/api/v1/"):
            continue
        url = re.sub(r"\{[^}]+\}", "x", path)
        # A body that is not even JSON: authentication comes before any parsing.
        r = api.anon.request(
            method, url, content=b"{not json", headers={"content-type": "application/json"}
        )
        doc = assert_problem(r, 401)
        assert r.headers["www-authenticate"] == "Bearer", f"{method} {path}"
        assert "token is required" in doc["detail"]
        assert doc["instance"] == url
        seen += 1
    assert seen >= 25
    # Unknown routes under /api/v1 do not reveal themselves to anonymous callers either.
    assert_problem(api.anon.get("/api/v1/no-such-thing"), 401)
    assert api.writes() == before


def test_health_probes_need_no_token(api: Api) -> None:
    assert api.anon.get("/healthz").status_code == 200
    assert api.anon.get("/readyz").status_code == 200


def test_every_error_is_documented_as_problem_json_and_every_success_has_a_model(
    api: Api,
) -> None:
    document = api.anon.get("/api/v1/openapi.json").json()
    problem = {"$ref": "#/components/schemas/Problem"}
    required = set(document["components"]["schemas"]["Problem"]["required"])
    assert required >= {"type", "title", "status", "detail"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, op in _operations(document):
        for code, response in op["responses"].items():
            content = response.get("content", {})
            if code.startswith(("4", "5")):
                expected = {"application/problem+json": {"schema": problem}}
                assert content == expected, f"{method} {path} {code}"
            else:
                schema = content["application/json"]["schema"]
                assert "$ref" in schema or schema.get("type") == "array", f"{method} {path}"
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in op["responses"], f"{method} {path}"
