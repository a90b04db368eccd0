"""The OpenAPI document publishes every field of each record the API returns.

The record dataclasses the services return are the API's response models. Walking every
route's response model finds each record the API publishes, directly or nested in a page or
an envelope; its schema in the served document must list every field of the dataclass, each
required (a response always carries it). The few response models that deliberately hide a
field of their record must list every other field and not the hidden one.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import BaseRoute

from andon.api.app import create_app
from andon.audit.chain import Entry
from andon.core.config import Settings
from andon.data.profile import TableProfile
from andon.data.service import ContractVersionRecord
from tests.api.live import Api


@pytest.fixture
def backend() -> str:
    """The document does not depend on the database: SQLite is enough."""
    return "sqlite"


def _records(annotation: Any, found: dict[str, type], seen: set[Any]) -> None:
    """Collect the dataclasses reachable from ``annotation`` (through generics, pydantic
    models and other dataclasses), by class name."""
    if annotation in seen:
        return
    seen.add(annotation)
    for arg in typing.get_args(annotation):
        _records(arg, found, seen)
    if not isinstance(annotation, type) or isinstance(annotation, types.GenericAlias):
        return
    if dataclasses.is_dataclass(annotation):
        assert found.setdefault(annotation.__name__, annotation) is annotation, annotation
        for hint in typing.get_type_hints(annotation).values():
            _records(hint, found, seen)
    elif issubclass(annotation, BaseModel):
        for field in annotation.model_fields.values():
            _records(field.annotation, found, seen)


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, those of included routers too (FastAPI wraps an included router)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def _published_records(tmp_path: Path) -> dict[str, type]:
    app = create_app(Settings(home=tmp_path / "walk"))
    found: dict[str, type] = {}
    seen: set[Any] = set()
    routes = list(_api_routes(app.routes))
    assert len(routes) >= 60
    for route in routes:
        if route.response_model is not None:
            _records(route.response_model, found, seen)
    return found


def _document(api: Api) -> dict[str, Any]:
    # Building the document takes a while on a busy machine: wait longer than httpx's 5 s.
    response = api.anon.get("/api/v1/openapi.json", timeout=60)
    assert response.status_code == 200
    return response.json()


def _component(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _names(record: type) -> set[str]:
    return {f.name for f in dataclasses.fields(record)}  # type: ignore[arg-type]


def test_every_record_the_api_returns_has_every_field_in_the_document(
    api: Api, tmp_path: Path
) -> None:
    document = _document(api)
    by_title = {}
    for name, schema in document["components"]["schemas"].items():
        assert schema.get("title", name) not in by_title, f"two schemas titled {name}"
        by_title[schema.get("title", name)] = schema
    records = _published_records(tmp_path)
    # Records of every domain the API serves: auth, audit, outbox, board, data, registry,
    # cards, policy and lineage.
    for expected in (
        "PrincipalRecord",
        "TeamRecord",
        "MemberRecord",
        "Verification",
        "Event",
        "Light",
        "HistoryRow",
        "RunRecord",
        "ModelRecord",
        "VersionRecord",
        "NarrativeSection",
        "GateDecisionRecord",
        "PromotionRecord",
        "Edge",
    ):
        assert expected in records, expected
    for name, record in records.items():
        schema = by_title.get(name)
        assert schema is not None, f"{name} is not in the OpenAPI document"
        fields = _names(record)
        assert set(schema["properties"]) == fields, name
        assert set(schema.get("required", [])) == fields, f"{name}: every field is required"


HIDDEN = [
    # (method, path, status, record, the fields the response model hides)
    ("get", "/api/v1/audit", "200", Entry, {"change_digest"}),
    ("post", "/api/v1/contracts", "201", ContractVersionRecord, {"granted_root"}),
    (
        "get",
        "/api/v1/datasets/{team}/{name}/profile",
        "200",
        TableProfile,
        {"sample", "classified"},
    ),
]


def test_a_response_that_hides_a_field_lists_every_other_field(api: Api) -> None:
    document = _document(api)
    for method, path, status, record, hidden in HIDDEN:
        response = document["paths"][path][method]["responses"][status]
        schema = _component(document, response["content"]["application/json"]["schema"])
        if "next_cursor" in schema["properties"]:  # a page: look at its items
            schema = _component(document, schema["properties"]["items"]["items"])
        published = set(schema["properties"])
        assert hidden <= _names(record), path
        assert not hidden & published, f"{path} publishes a hidden field"
        assert published == _names(record) - hidden, path
        assert set(schema["required"]) == published, path
