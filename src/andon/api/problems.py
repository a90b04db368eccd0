"""RFC 9457 problem+json for every error the API returns, and how the OpenAPI document says so.

Four sources of errors, one shape:

- :class:`~andon.core.errors.AndonError` from a service (its ``http_status`` and ``problem()``);
- request validation (FastAPI/pydantic), reported as 422 with ``field`` naming the first bad
  input and ``errors`` listing all of them;
- routing (unknown route 404, wrong method 405 with ``Allow``), body parsing (400) and the body
  limit (413, from :mod:`andon.api.limits`);
- anything else: 503 when the database is down or not migrated (the likely cause, with its
  fix), else a 500 whose detail points at the server log, never at the exception.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from andon.api import operations
from andon.core.errors import AndonError, Unauthenticated
from andon.store import migrate

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("andon.api")


class Problem(BaseModel):
    """An RFC 9457 problem document; some problems carry more members (``errors``, ``action``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code of this response.")
    detail: str = Field(description="One line a person can act on.")
    instance: str | None = Field(None, description="The request path.")
    field: str | None = Field(None, description="The input at fault, when there is one.")


def problem_response(
    status: int, doc: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem document with the right media type; ``detail`` is kept to one line."""
    doc = {**doc, "status": status, "detail": " ".join(str(doc.get("detail", "")).split())}
    return JSONResponse(doc, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def error_response(exc: AndonError, instance: str, *, token_sent: bool = False) -> JSONResponse:
    """The response for a service error; 401s carry ``WWW-Authenticate`` (RFC 6750)."""
    headers = None
    if isinstance(exc, Unauthenticated):
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"' if token_sent else "Bearer"}
    return problem_response(exc.http_status, exc.problem(instance), headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        return f"is not valid JSON: {error.get('ctx', {}).get('error', 'decode error')}"
    return str(error["msg"]).removeprefix("Value error, ")


async def _andon_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AndonError)
    return error_response(exc, request.url.path, token_sent="authorization" in request.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": "body" if e.get("type") == "json_invalid" else _field(e["loc"]),
            "message": _message(e),
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "request", "message": "is invalid"}
    return problem_response(
        422,
        {
            "type": "https://andon.dev/problems/invalid",
            "title": "invalid input",
            "detail": f"{first['field']}: {first['message']}",
            "instance": request.url.path,
            "field": first["field"],
            "errors": errors,
        },
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else {}
    path = request.url.path
    if exc.status_code == 404:
        detail = f"no such resource: {request.method} {path}"
    elif exc.status_code == 405:
        headers["Allow"] = _allowed(request, headers.get("Allow", ""))
        detail = f"{request.method} is not allowed on {path}; allowed: {headers['Allow']}"
    else:
        detail = str(exc.detail)
    doc = {
        "type": "about:blank",
        "title": HTTPStatus(exc.status_code).phrase,
        "detail": detail,
        "instance": path,
    }
    unreadable = _unreadable_json(exc.__cause__) if exc.status_code == 400 else None
    if unreadable:
        doc |= {"detail": f"body: {unreadable}", "field": "body"}
    return problem_response(exc.status_code, doc, headers or None)


def _unreadable_json(cause: BaseException | None) -> str | None:
    """Why the JSON parser gave up on a body FastAPI could not parse, when it is a bound.

    Python's parser bounds JSON itself: nesting by the interpreter's recursion limit
    (``RecursionError``), integers at ``sys.get_int_max_str_digits()`` digits (``ValueError``).
    FastAPI turns both into a bare 400; this names which bound the body passed.
    """
    if isinstance(cause, RecursionError):
        return "the JSON nests too deeply to read (keep it to a few levels)"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return f"the JSON holds an integer of more than {sys.get_int_max_str_digits():,} digits"
    return None


def _allowed(request: Request, named: str) -> str:
    """Every method the API takes at this path (Starlette names only the first route's)."""
    methods = {m.strip() for m in named.split(",") if m.strip()}
    methods |= set(operations.at(request.app, request.scope["path"]))
    return ", ".join(sorted(methods))


def internal_error(instance: str) -> JSONResponse:
    """The 500 problem: nothing about the exception leaks to the caller."""
    return problem_response(
        500,
        {
            "type": "about:blank",
            "title": "Internal Server Error",
            "detail": "an unexpected error occurred; the server log has the details",
            "instance": instance,
        },
    )


class CatchAll:
    """Turn any unhandled exception into a problem and keep the connection usable.

    When the database is unreachable or its schema is not current, that is the cause the caller
    needs (503, with the fix); anything else is a 500. Starlette's own last-resort handler
    re-raises after responding, so the server drops the keep-alive connection and the client's
    next request on it fails; this one logs and answers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def _send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except Exception as exc:
            if started:
                raise
            path = scope.get("path", "")
            cause = await run_in_threadpool(_database_problem, scope)
            if cause is None:
                log.error("unhandled error on %s %s", scope.get("method"), path, exc_info=exc)
                response = internal_error(path)
            else:
                log.warning("%s %s failed: %s", scope.get("method"), path, cause)
                response = error_response(cause, path)
            await response(scope, receive, send)


def _database_problem(scope: Scope) -> AndonError | None:
    """Why the database cannot serve requests (unreachable, no or foreign schema), if it cannot."""
    app = scope.get("app")
    db = getattr(getattr(app, "state", None), "db", None)
    if db is None:
        return None
    try:
        db.ping()
        migrate.require_current(db)
    except AndonError as exc:
        return exc
    except Exception:  # the diagnosis must never fail the error path
        return None
    return None


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json (add ``CatchAll`` last)."""
    app.add_exception_handler(AndonError, _andon_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)


# --------------------------------------------------------------------------- OpenAPI

_DESCRIPTIONS = {
    400: "The body could not be read (it is not UTF-8 JSON).",
    401: "No token, or a malformed, unknown, expired or revoked one (`WWW-Authenticate: Bearer`).",
    403: "The principal lacks the permission.",
    404: "A named object does not exist.",
    409: "The change collides with existing state.",
    413: "The body is larger than the server reads (`ANDON_MAX_BODY_BYTES`).",
    422: "Invalid input; `field` names it.",
    503: "The database cannot be reached or its schema is not current.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Error responses for a route's ``responses=``; :func:`document` gives them their schema."""
    return {code: {"description": _DESCRIPTIONS[code]} for code in codes}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Make every 4xx/5xx response of an OpenAPI document ``application/problem+json``."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema()
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for operation in _operations(schema):
        if "requestBody" in operation:
            operation["responses"].setdefault("400", {"description": _DESCRIPTIONS[400]})
            operation["responses"].setdefault("413", {"description": _DESCRIPTIONS[413]})
        for code, response in operation.get("responses", {}).items():
            if str(code)[0] in "45":
                response["content"] = {
                    MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
                if str(code) == "422":
                    response["description"] = _DESCRIPTIONS[422]
    return schema


def _operations(schema: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for item in schema.get("paths", {}).values():
        yield from (op for method, op in item.items() if method != "parameters")
