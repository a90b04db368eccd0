"""Reading a request and writing a response on the raw ASGI interface of the hot path."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from andon.gateway.problems import GatewayProblem


async def send_json_bytes(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    """A complete response whose body is already encoded."""
    raw = [(k.encode(), v.encode()) for k, v in headers.items() if k != "content-length"]
    if not any(k == b"content-type" for k, _ in raw):
        raw.append((b"content-type", b"application/json"))
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def only(scope: Scope, method: str) -> None:
    if scope["method"] != method:
        raise GatewayProblem(
            405,
            "method-not-allowed",
            "method not allowed",
            f"{scope['path']} takes {method}, not {scope['method']}",
            headers={"allow": method},
        )


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def is_json(scope: Scope) -> bool:
    content_type = header(scope, b"content-type") or ""
    return content_type.split(";")[0].strip().lower() == "application/json"


def too_large(cap: int, where: str) -> GatewayProblem:
    return GatewayProblem(
        413,
        "body-too-large",
        "body too large",
        f"the request body is over the {cap}-byte limit of {where}",
        limit=cap,
    )


async def read_body(scope: Scope, receive: Receive, cap: int) -> bytes:
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise too_large(cap, "this gateway")
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise GatewayProblem(400, "bad-request", "bad request", "the client went away")
        body = message.get("body", b"")
        size += len(body)
        if size > cap:
            raise too_large(cap, "this gateway")
        chunks.append(body)
        if not message.get("more_body", False):
            return b"".join(chunks)


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise GatewayProblem(
            400,
            "malformed-json",
            "malformed JSON",
            f"body: is not valid JSON: {exc}",
            field="body",
        ) from None
    if not isinstance(value, dict):
        raise GatewayProblem(
            422, "invalid", "invalid input", "body: must be a JSON object", field="body"
        )
    return value
