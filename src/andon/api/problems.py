"""RFC 9457 problem+json for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from andon.core.errors import AndonError, Unauthenticated

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("andon.api")


def problem_response(
    status: int, doc: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem document with the right media type."""
    return JSONResponse(doc, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


async def _andon_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AndonError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    return problem_response(exc.http_status, exc.problem(request.url.path), headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field(e["loc"]), "message": e["msg"].removeprefix("Value error, ")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "request", "message": "invalid"}
    return problem_response(
        422,
        {
            "type": "https://andon.dev/problems/invalid",
            "title": "invalid input",
            "status": 422,
            "detail": f"{first['field']}: {first['message']}",
            "instance": request.url.path,
            "field": first["field"],
            "errors": errors,
        },
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    titles = {404: "not found", 405: "method not allowed", 401: "not authenticated"}
    return problem_response(
        exc.status_code,
        {
            "type": "about:blank",
            "title": titles.get(exc.status_code, "error"),
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        },
        dict(exc.headers) if exc.headers else None,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        {
            "type": "about:blank",
            "title": "internal error",
            "status": 500,
            "detail": "an unexpected error occurred; the server log has the details",
            "instance": request.url.path,
        },
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""
    app.add_exception_handler(AndonError, _andon_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
