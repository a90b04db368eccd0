"""The API's operations as its OpenAPI document declares them, indexed by path.

Used where the router alone cannot answer: the full ``Allow`` header of a 405 (Starlette names
only the first route matching the path) and refusing query parameters an operation does not
declare (a mistyped filter must not silently return everything).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.routing import compile_path


@dataclass(frozen=True)
class PathOperations:
    """The operations at one path template: for each method, its query parameter names."""

    pattern: re.Pattern[str]
    query: dict[str, frozenset[str]]


def index(app: FastAPI) -> list[PathOperations]:
    """Every documented path of ``app``, built once from its OpenAPI document."""
    cached: list[PathOperations] | None = getattr(app.state, "andon_operations", None)
    if cached is None:
        cached = [
            PathOperations(
                compile_path(path)[0],
                {
                    method.upper(): frozenset(
                        p["name"] for p in op.get("parameters", []) if p["in"] == "query"
                    )
                    for method, op in item.items()
                    if method != "parameters"
                },
            )
            for path, item in app.openapi().get("paths", {}).items()
        ]
        app.state.andon_operations = cached
    return cached


def at(app: FastAPI, path: str) -> dict[str, frozenset[str]]:
    """The methods documented at ``path``, each with its query parameter names.

    Like the router, the first matching template wins for a method (``/x/diff`` declared
    before ``/x/{id}`` keeps its own parameters).
    """
    found: dict[str, frozenset[str]] = {}
    for entry in index(app):
        if entry.pattern.match(path):
            for method, names in entry.query.items():
                found.setdefault(method, names)
    return found
